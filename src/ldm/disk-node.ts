/**
 * Keeps the node's LocalDiskNode current: spec applied once at start, status (counts, capacity by
 * class, heartbeat) patched shortly after any LocalDisk of the node changes and at every heartbeat.
 */
import { apiVersion, labels, loamResources, nodeLabelValue, type LocalDisk, type LocalDiskNode } from '../api/index.js';
import type { Logger } from '../common/logger.js';
import { isNotFound, patchStatus, serverSideApply, type Informer, type KubeClients } from '../kube/index.js';
import { nodeFieldManager } from './disk-publisher.js';
import { stableJson } from './disk-status.js';
import { summariseDisks } from './disk-node-summary.js';

export interface DiskNodeReporterOptions {
  clients: KubeClients;
  nodeName: string;
  informer: Informer<LocalDisk>;
  logger: Logger;
  heartbeatMs: number;
  /** Wait this long after a change before writing, so a burst is one write (default 200 ms). */
  settleMs?: number;
}

export class DiskNodeReporter {
  private heartbeat?: NodeJS.Timeout;
  private pending?: NodeJS.Timeout;
  private lastWritten = '';
  private writing: Promise<void> = Promise.resolve();
  private applied = false;
  private stopped = false;
  private readonly readySince = new Date().toISOString();

  constructor(private readonly opts: DiskNodeReporterOptions) {
    const changed = (): void => this.schedule();
    opts.informer.on('add', changed);
    opts.informer.on('update', changed);
    opts.informer.on('delete', changed);
  }

  start(): void {
    this.heartbeat = setInterval(() => this.report(true), this.opts.heartbeatMs);
    this.report(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.pending);
    await this.writing;
  }

  private schedule(): void {
    if (this.pending || this.stopped) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.report(false);
    }, this.opts.settleMs ?? 200);
  }

  /** Serialises writes; a failed write is logged and repaired by the next change or heartbeat. */
  private report(heartbeat: boolean): void {
    this.writing = this.writing.then(() => this.write(heartbeat)).catch((err: unknown) => {
      this.opts.logger.warn('could not update LocalDiskNode', { error: (err as Error).message });
    });
  }

  private async write(heartbeat: boolean): Promise<void> {
    if (this.stopped) return;
    const { clients, nodeName } = this.opts;
    if (!this.applied) {
      const body = { apiVersion, kind: 'LocalDiskNode', metadata: { name: nodeName, labels: { [labels.node]: nodeLabelValue(nodeName) } }, spec: { nodeName } } as LocalDiskNode;
      await serverSideApply(clients, loamResources.localDiskNodes, body, { fieldManager: nodeFieldManager });
      this.applied = true;
    }
    if (!this.opts.informer.hasSynced()) return;
    const mine = this.opts.informer.cache.list().filter((d) => d.spec.nodeName === nodeName);
    const summary = summariseDisks(mine);
    const key = stableJson(summary);
    if (!heartbeat && key === this.lastWritten) return;
    const now = new Date().toISOString();
    const status = {
      ...summary,
      lastHeartbeatTime: now,
      conditions: [{ type: 'Ready', status: 'True', reason: 'AgentRunning', message: `loam-node reports ${summary.disks.total} disks`, lastTransitionTime: this.readySince }],
    };
    try {
      await patchStatus(clients, loamResources.localDiskNodes, { name: nodeName }, status, { fieldManager: nodeFieldManager });
    } catch (err) {
      // Deleted by someone: apply it again next time.
      if (isNotFound(err)) this.applied = false;
      throw err;
    }
    this.lastWritten = key;
  }
}
