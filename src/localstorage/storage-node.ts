/**
 * Keeps the node's LocalStorageNode current: spec applied once (server-side apply), status from
 * `vgs`/`pvs`/`lvs` patched on `/status` when the pools change and at every heartbeat.
 *
 * `refresh()` is what the PoolManager and the ReplicaReconciler call after they changed LVM: it
 * resolves once a report read *after* the call has been written, so a replica's status is never
 * written before its LV shows in the pool's freeBytes. Concurrent calls coalesce into one read.
 */
import { apiVersion, labels, loamResources, type Condition, type LocalDisk, type LocalStorageNode, type LocalStorageNodeStatus } from '../api/index.js';
import type { Logger } from '../common/logger.js';
import { isNotFound, patchStatus, serverSideApply, type Informer, type KubeClients } from '../kube/index.js';
import { stableJson } from '../ldm/disk-status.js';
import type { Lvm, PvReport } from './lvm.js';
import { deviceNumber } from './pool-device.js';
import type { PoolProblem } from './pool-manager.js';
import { CoalescingRunner } from './storage-node-refresh.js';
import { buildStorageNodeReport, type LvmSnapshot, type StorageNodeReport } from './storage-node-report.js';

export const storageNodeFieldManager = 'loam-node';

export interface StorageNodeReporterOptions {
  clients: KubeClients;
  nodeName: string;
  lvm: Lvm;
  /** LocalDisks of this node, to name the PVs of each pool. */
  informer: Informer<LocalDisk>;
  heartbeatMs: number;
  /** What the PoolManager could not do, for the message and conditions. */
  problems: () => PoolProblem[];
  activationFailures: () => Map<string, string>;
  logger: Logger;
}

export class StorageNodeReporter {
  private heartbeat?: NodeJS.Timeout;
  private readonly runner = new CoalescingRunner(() => this.runOnce());
  private forceNext = false;
  private applied = false;
  private stopped = false;
  private lastWritten = '';
  private lastConditions: Condition[] = [];

  constructor(private readonly opts: StorageNodeReporterOptions) {}

  /** Writes the first report (failures are logged and repaired by the heartbeat) and starts the heartbeat. */
  async start(): Promise<void> {
    this.heartbeat = setInterval(() => void this.report(true), this.opts.heartbeatMs);
    await this.report(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    await this.runner.idle();
  }

  /** Re-reads LVM and writes the status if it changed; rejects when the write failed. */
  refresh(): Promise<void> {
    return this.schedule(false);
  }

  /** Like refresh, but logs failures instead of rejecting (heartbeat, start). */
  private async report(heartbeat: boolean): Promise<void> {
    try {
      await this.schedule(heartbeat);
    } catch (err) {
      this.opts.logger.warn('could not update LocalStorageNode', { error: (err as Error).message });
    }
  }

  /** A heartbeat writes even when nothing changed (the next run picks the flag up). */
  private schedule(heartbeat: boolean): Promise<void> {
    if (heartbeat) this.forceNext = true;
    return this.runner.run();
  }

  private async runOnce(): Promise<void> {
    const force = this.forceNext;
    this.forceNext = false;
    if (this.stopped) return;
    const report = await this.read();
    await this.write(report, force);
  }

  private async read(): Promise<StorageNodeReport> {
    const { lvm } = this.opts;
    let snapshot: LvmSnapshot | undefined;
    let lvmError: string | undefined;
    try {
      const [vgs, pvs, lvs] = await Promise.all([lvm.vgs(), lvm.pvs(), lvm.lvs()]);
      snapshot = { vgs, pvs, lvs };
    } catch (err) {
      lvmError = (err as { line?: string }).line ?? (err as Error).message;
    }
    const diskOfPv = await this.diskNamer(snapshot?.pvs ?? []);
    return buildStorageNodeReport({ lvm: snapshot, lvmError, diskOfPv, activationFailures: this.opts.activationFailures(), problems: this.opts.problems() });
  }

  /** PV → LocalDisk name, by device number (LVM may name a device by another path than loam-node). */
  private async diskNamer(pvs: PvReport[]): Promise<(pv: PvReport) => string | undefined> {
    const byRdev = new Map<number, string>();
    for (const disk of this.opts.informer.cache.list()) {
      if (disk.spec.nodeName !== this.opts.nodeName || disk.status?.state === 'Offline') continue;
      const rdev = await deviceNumber(disk.spec.devicePath);
      if (rdev !== undefined) byRdev.set(rdev, disk.metadata!.name!);
    }
    const byPv = new Map<string, string>();
    for (const pv of pvs) {
      const rdev = await deviceNumber(pv.pvName);
      const name = rdev === undefined ? undefined : byRdev.get(rdev);
      if (name) byPv.set(pv.pvName, name);
    }
    return (pv) => byPv.get(pv.pvName);
  }

  private async write(report: StorageNodeReport, heartbeat: boolean): Promise<void> {
    const { clients, nodeName } = this.opts;
    const key = stableJson(report);
    if (!heartbeat && key === this.lastWritten) return;
    if (!this.applied) {
      const body = { apiVersion, kind: 'LocalStorageNode', metadata: { name: nodeName, labels: { [labels.node]: nodeName } }, spec: { nodeName } } as LocalStorageNode;
      await serverSideApply(clients, loamResources.localStorageNodes, body, { fieldManager: storageNodeFieldManager });
      this.applied = true;
    }
    const now = new Date().toISOString();
    const conditions = report.conditions.map((c) => {
      const prev = this.lastConditions.find((o) => o.type === c.type);
      return { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now } as Condition;
    });
    const status: Omit<LocalStorageNodeStatus, 'message'> & { message: string | null } = {
      state: report.state,
      pools: report.pools,
      poolClasses: report.poolClasses,
      free: report.free,
      lastHeartbeatTime: now,
      message: report.message ?? null,
      conditions,
    };
    try {
      await patchStatus(clients, loamResources.localStorageNodes, { name: nodeName }, status as unknown as Record<string, unknown>, { fieldManager: storageNodeFieldManager });
    } catch (err) {
      // Deleted by someone: apply it again next time.
      if (isNotFound(err)) this.applied = false;
      throw err;
    }
    if (report.state !== JSON.parse(this.lastWritten || '{}').state) this.opts.logger.info('LocalStorageNode state', { state: report.state, pools: report.poolClasses, message: report.message });
    this.lastWritten = key;
    this.lastConditions = conditions;
  }
}
