/**
 * Publishes the inventory as LocalDisks: server-side apply of the discovery fields of spec (field
 * manager `loam-node`; never reserved, claimRef or owner), then a merge patch of status under the
 * object's resourceVersion. Reconciles by name, level-based: it reads the current record and the
 * object from the informer cache, so a binder setting claimRef, an admin setting reserved and a
 * device event all take the same path.
 */
import { apiVersion, labels, loamResources, nodeLabelValue, validateLocalDisk, type LocalDisk } from '../api/index.js';
import type { Logger } from '../common/logger.js';
import { Controller, isConflict, isNotFound, patchStatus, serverSideApply, type EventRecorder, type Informer, type KubeClients, type ReconcileResult } from '../kube/index.js';
import type { DiscoverySpec, DiskInventory, DiskRecord } from './disk-inventory.js';
import { desiredStatus, stableJson } from './disk-status.js';

export const nodeFieldManager = 'loam-node';

export interface DiskPublisherOptions {
  clients: KubeClients;
  nodeName: string;
  inventory: DiskInventory;
  /** LocalDisks of this node (label loam.io/node=<node>). */
  informer: Informer<LocalDisk>;
  recorder: EventRecorder;
  logger: Logger;
  /** Rewrite lastSeen of an unchanged disk at most this often (ms). */
  lastSeenRefreshMs: number;
  workers?: number;
}

export class DiskPublisher {
  private readonly controller: Controller;
  /** Set once the first full scan is done: only then is a LocalDisk without a record Offline. */
  private scanned = false;

  constructor(private readonly opts: DiskPublisherOptions) {
    this.controller = new Controller({ name: 'localdisk-publisher', reconcile: (name) => this.reconcile(name), workers: opts.workers ?? 4, logger: opts.logger });
    const enqueue = (obj: LocalDisk): void => this.enqueue(obj.metadata!.name!);
    opts.informer.on('add', enqueue);
    opts.informer.on('update', enqueue);
    opts.informer.on('delete', enqueue);
  }

  start(): void {
    this.controller.start();
  }

  enqueue(name: string): void {
    this.controller.enqueue(name);
  }

  /** After the first full scan: every known object is reconciled (missing disks go Offline). */
  markScanned(): void {
    this.scanned = true;
    this.enqueueAll();
  }

  enqueueAll(): void {
    for (const obj of this.opts.informer.cache.list()) this.enqueue(obj.metadata!.name!);
    for (const name of this.opts.inventory.records.keys()) this.enqueue(name);
  }

  async stop(): Promise<void> {
    await this.controller.stop();
  }

  private async reconcile(name: string): Promise<ReconcileResult | void> {
    const rec = this.opts.inventory.records.get(name);
    let obj = this.opts.informer.cache.get(name);
    const log = this.opts.logger.child({ disk: name });
    if (obj) {
      const problems = validateLocalDisk(obj);
      if (problems.length > 0) return this.reportInvalid(obj, problems);
    }
    try {
      if (rec?.present && (!obj || !this.specCurrent(obj, rec.spec))) {
        obj = await serverSideApply<LocalDisk>(this.opts.clients, loamResources.localDisks, this.applyBody(name, rec.spec), { fieldManager: nodeFieldManager });
        log.debug('applied spec', { devicePath: rec.spec.devicePath });
      }
      if (!obj || (!rec && !this.scanned)) return;
      await this.writeStatus(obj, rec, log);
    } catch (err) {
      // A stale cache (409) or an object deleted meanwhile (404): the informer brings the news and requeues.
      if (isConflict(err) || isNotFound(err)) return { requeue: true };
      throw err;
    }
  }

  private applyBody(name: string, spec: DiscoverySpec): LocalDisk {
    return {
      apiVersion,
      kind: 'LocalDisk',
      metadata: { name, labels: { [labels.node]: nodeLabelValue(this.opts.nodeName) } },
      spec,
    } as LocalDisk;
  }

  private specCurrent(obj: LocalDisk, spec: DiscoverySpec): boolean {
    if (obj.metadata?.labels?.[labels.node] !== nodeLabelValue(this.opts.nodeName)) return false;
    const s = obj.spec;
    const stored: DiscoverySpec = { nodeName: s.nodeName, devicePath: s.devicePath, identity: s.identity, capacityBytes: s.capacityBytes, mediaClass: s.mediaClass };
    return stableJson(stored) === stableJson(spec);
  }

  private async writeStatus(obj: LocalDisk, rec: DiskRecord | undefined, log: Logger): Promise<void> {
    const want = desiredStatus(rec, obj, new Date(), this.opts.lastSeenRefreshMs);
    if (!want.changed) return;
    const old = obj.status;
    const patch: Record<string, unknown> = { ...want.status, reason: want.status.reason ?? null };
    if (old?.message) patch.message = null;
    await patchStatus(this.opts.clients, loamResources.localDisks, { name: obj.metadata!.name! }, patch, { resourceVersion: obj.metadata?.resourceVersion, fieldManager: nodeFieldManager });
    if (old?.state !== want.status.state) log.info('disk state', { state: want.status.state, reason: want.status.reason, was: old?.state });
    if (old?.health && old.health !== want.status.health) {
      void this.opts.recorder.record(obj, {
        type: want.status.health === 'Healthy' || want.status.health === 'Unknown' ? 'Normal' : 'Warning',
        reason: 'HealthChanged',
        action: 'CheckHealth',
        note: `SMART health changed from ${old.health} to ${want.status.health}`,
      });
    }
  }

  /** An object that fails validation is not acted on: its status says why, and an event too. */
  private async reportInvalid(obj: LocalDisk, problems: string[]): Promise<void> {
    const message = `not processed: the object is invalid: ${problems.join('; ')}`;
    this.opts.logger.warn('invalid LocalDisk skipped', { disk: obj.metadata?.name, problems });
    if (obj.status?.message === message) return;
    await patchStatus(this.opts.clients, loamResources.localDisks, { name: obj.metadata!.name! }, { message }, { fieldManager: nodeFieldManager });
    void this.opts.recorder.record(obj, { type: 'Warning', reason: 'InvalidObject', action: 'Validate', note: message });
  }
}
