/**
 * Keeps the node's LocalStorageNode current: spec applied once (server-side apply), status from
 * `vgs`/`pvs`/`lvs` patched on `/status` when the pools change and at every heartbeat.
 *
 * `refresh()` is what the PoolManager calls after it changed the VGs: it resolves once a report
 * read *after* the call has been written. Concurrent calls coalesce into one read.
 *
 * `lvChanged()` is the ReplicaReconciler's: after lvcreate/lvextend/lvremove it applies the change
 * to the last LVM snapshot by arithmetic (a linear LV takes exactly its extents from the VG's free
 * space) and writes that, without running LVM again: the hot path of a new volume then costs one
 * LVM command. It resolves once a report that includes the change has been written, so a replica's
 * status is never written before its LV shows in the pool's freeBytes. A full LVM read follows
 * once the changes have paused (`settleMs`), and the heartbeat reads LVM anyway, so anything that
 * changed behind Loam's back is corrected.
 */
import { apiVersion, labels, loamResources, nodeLabelValue, type Condition, type LocalDisk, type LocalStorageNode, type LocalStorageNodeStatus } from '../api/index.js';
import type { Logger } from '../common/logger.js';
import { Backoff, isNotFound, patchStatus, serverSideApply, type Informer, type KubeClients } from '../kube/index.js';
import { stableJson } from '../ldm/disk-status.js';
import type { Lvm, PvReport } from './lvm.js';
import { deviceNumber } from './pool-device.js';
import type { PoolProblem } from './pool-manager.js';
import { CoalescingRunner } from './storage-node-refresh.js';
import { applyLvChange, buildStorageNodeReport, type LvChange, type LvmSnapshot, type StorageNodeReport } from './storage-node-report.js';

export type { LvChange };

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
  /** Quiet time after the last LV change before LVM is read again in full (ms, default 2 s). */
  settleMs?: number;
}


export class StorageNodeReporter {
  private heartbeat?: NodeJS.Timeout;
  private readonly runner = new CoalescingRunner(() => this.runOnce());
  private forceNext = false;
  private applied = false;
  private stopped = false;
  private lastWritten = '';
  private lastConditions: Condition[] = [];
  /** The last LVM snapshot, with the LV changes made since applied to it. */
  private snapshot?: LvmSnapshot;
  private diskOfPv: (pv: PvReport) => string | undefined = () => undefined;
  /** Counts LV changes, so a full read that ran across one is known to be possibly stale. */
  private changes = 0;
  private fullReadDue = true;
  private settleTimer?: NodeJS.Timeout;
  /**
   * A heartbeat that could not be written is tried again after 1 s doubling to 5 s, not a whole
   * period later: after an API server outage the node is shown alive within seconds of its return,
   * so placement (which turns away nodes with a stale heartbeat) takes new volumes again at once.
   */
  private readonly heartbeatRetry = new Backoff({ baseMs: 1000, maxMs: 5000, jitter: 0.2 });
  private heartbeatRetryTimer?: NodeJS.Timeout;

  constructor(private readonly opts: StorageNodeReporterOptions) {}

  /** Writes the first report (failures are logged and repaired by the heartbeat) and starts the heartbeat. */
  async start(): Promise<void> {
    this.heartbeat = setInterval(() => void this.report(true), this.opts.heartbeatMs);
    await this.report(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.settleTimer);
    clearTimeout(this.heartbeatRetryTimer);
    await this.runner.idle();
  }

  /** Re-reads LVM and writes the status if it changed; rejects when the write failed. */
  refresh(): Promise<void> {
    this.fullReadDue = true;
    return this.schedule(false);
  }

  /** The VG's extent size as last read (undefined before the first read, or for an unknown VG). */
  extentBytes(vgName: string): number | undefined {
    return this.snapshot?.vgs.find((vg) => vg.name === vgName)?.extentBytes;
  }

  /**
   * Records an LV change in the report (see the module comment); resolves once a report with it is
   * written, rejects when that write failed. Without a snapshot of the VG, LVM is read instead.
   */
  lvChanged(change: LvChange): Promise<void> {
    const lv = 'removed' in change ? change.removed : change.lv;
    if (!this.snapshot?.vgs.some((v) => v.name === lv.vgName)) return this.refresh();
    this.changes++;
    this.snapshot = applyLvChange(this.snapshot, change);
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => void this.report(false), this.opts.settleMs ?? 2_000);
    this.settleTimer.unref();
    return this.schedule(false);
  }

  /** Like refresh, but logs failures instead of rejecting (heartbeat, start, settle). */
  private async report(heartbeat: boolean, fullRead = true): Promise<void> {
    if (fullRead) this.fullReadDue = true;
    try {
      await this.schedule(heartbeat);
      if (heartbeat) this.heartbeatRetry.reset();
    } catch (err) {
      this.opts.logger.warn('could not update LocalStorageNode', { error: (err as Error).message });
      if (heartbeat && !this.stopped) {
        clearTimeout(this.heartbeatRetryTimer);
        this.heartbeatRetryTimer = setTimeout(() => void this.report(true, false), this.heartbeatRetry.next());
        this.heartbeatRetryTimer.unref();
      }
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
    let lvmError: string | undefined;
    if (this.fullReadDue || !this.snapshot) {
      this.fullReadDue = false;
      lvmError = await this.read();
    }
    const report = buildStorageNodeReport({
      lvm: lvmError === undefined ? this.snapshot : undefined, lvmError, diskOfPv: this.diskOfPv, activationFailures: this.opts.activationFailures(), problems: this.opts.problems(),
    });
    await this.write(report, force);
  }

  /** Reads LVM into the snapshot; returns LVM's line when it failed. */
  private async read(): Promise<string | undefined> {
    const { lvm } = this.opts;
    const changesBefore = this.changes;
    let read: LvmSnapshot;
    try {
      const [vgs, pvs, lvs] = await Promise.all([lvm.vgs(), lvm.pvs(), lvm.lvs()]);
      read = { vgs, pvs, lvs };
    } catch (err) {
      return (err as { line?: string }).line ?? (err as Error).message;
    }
    this.diskOfPv = await this.diskNamer(read.pvs);
    // An LV change while LVM was read may or may not be in what was read: keep the snapshot that
    // surely has it, and read again once the changes pause.
    if (this.changes === changesBefore || !this.snapshot) this.snapshot = read;
    else this.fullReadDue = true;
    return undefined;
  }

  /**
   * PV → LocalDisk name: by device number (LVM may name a device by another path than loam-node),
   * and for a missing PV (no device) by the PV UUID the LocalDisk recorded when it was pooled.
   */
  private async diskNamer(pvs: PvReport[]): Promise<(pv: PvReport) => string | undefined> {
    const byRdev = new Map<number, string>();
    const byUuid = new Map<string, string>();
    for (const disk of this.opts.informer.cache.list()) {
      if (disk.spec.nodeName !== this.opts.nodeName) continue;
      if (disk.status?.pvUuid) byUuid.set(disk.status.pvUuid, disk.metadata!.name!);
      if (disk.status?.state === 'Offline') continue;
      const rdev = await deviceNumber(disk.spec.devicePath);
      if (rdev !== undefined) byRdev.set(rdev, disk.metadata!.name!);
    }
    const byPv = new Map<string, string>();
    for (const pv of pvs) {
      const rdev = pv.missing ? undefined : await deviceNumber(pv.pvName);
      const name = rdev === undefined ? byUuid.get(pv.uuid) : byRdev.get(rdev);
      if (name) byPv.set(pv.uuid || pv.pvName, name);
    }
    return (pv) => byPv.get(pv.uuid || pv.pvName);
  }

  private async write(report: StorageNodeReport, heartbeat: boolean): Promise<void> {
    const { clients, nodeName } = this.opts;
    const key = stableJson(report);
    if (!heartbeat && key === this.lastWritten) return;
    if (!this.applied) {
      const body = { apiVersion, kind: 'LocalStorageNode', metadata: { name: nodeName, labels: { [labels.node]: nodeLabelValue(nodeName) } }, spec: { nodeName } } as LocalStorageNode;
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
