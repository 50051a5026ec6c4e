/**
 * PoolManager (loam-node): turns the node's LocalDisks claimed for `local-storage` into PVs of the
 * VG of their media class, and marks them InUse. On start it activates the Loam VGs (`vgchange
 * -ay`) and looks at every disk of the node, so whatever a crash left half done is adopted.
 *
 * Each reconcile (one disk, level-based, one worker so two disks of one class never race to
 * vgcreate): read the disk from the informer cache → cheap filter → re-probe its device with the
 * LDM safety probe, read `pvs`/`vgs` → `planPool` → act step by step (every step is checked again
 * on a retry, so a crash at any line converges) → status (InUse, condition Pooled) → pool report.
 * LVM failures become a Warning event carrying LVM's line, the Pooled condition and a line on the
 * LocalStorageNode, and are retried with the work queue's backoff.
 */
import { loamResources, validateLocalDisk, type LocalDisk } from '../api/index.js';
import type { Logger } from '../common/logger.js';
import { Controller, isConflict, isNotFound, patchStatus, type EventRecorder, type Informer, type KubeClients, type ReconcileResult } from '../kube/index.js';
import { assessSafety } from '../ldm/safety.js';
import { LvmError, newPvUuid, type Lvm } from './lvm.js';
import { probeDiskDevice, pvOfDevice, type ProbedDevice } from './pool-device.js';
import { isLoamVg, notSafeMessage, planPool, poolCandidate, type PoolAction } from './pool-plan.js';
import { inPool, pooledMatches, poolStatusPatch, type PooledState } from './pool-status.js';

export const poolFieldManager = 'loam-node-pools';

export interface PoolManagerOptions {
  clients: KubeClients;
  nodeName: string;
  lvm: Lvm;
  /** LocalDisks of this node (label loam.io/node=<node>). */
  informer: Informer<LocalDisk>;
  recorder: EventRecorder;
  /** Called after a disk joined a pool, so the LocalStorageNode follows. */
  onPoolsChanged: () => Promise<void>;
  logger: Logger;
  /**
   * Disks that could not be pooled are looked at again this often (ms, default 60 s): what blocked
   * them (a foreign VG removed, a mount gone) need not change their LocalDisk object.
   */
  recheckMs?: number;
  /** How the disk's device is found and probed (a seam for unit tests; default the real probe). */
  probe?: (disk: LocalDisk) => Promise<ProbedDevice | undefined>;
}

/** A disk the manager could not pool, for the LocalStorageNode's message. */
export interface PoolProblem {
  disk: string;
  device: string;
  message: string;
}

export class PoolManager {
  private readonly controller: Controller;
  private readonly probe: (disk: LocalDisk) => Promise<ProbedDevice | undefined>;
  /** Disks that could not be pooled, with why (also what the last event said, so it is not repeated). */
  private readonly problemsByDisk = new Map<string, PoolProblem>();
  /** Disks found InUse in a Loam VG at this devicePath: their updates need no LVM call. */
  private readonly settled = new Map<string, string>();
  /** The Pooled condition last written per disk. */
  private readonly conditionWritten = new Map<string, string>();
  /** VGs whose activation failed, with LVM's line. */
  private readonly activationErrors = new Map<string, string>();
  /** Missing PVs (UUID) whose disk has had its PhysicalVolumeMissing event. */
  private readonly missingReported = new Set<string>();
  private activationRetry?: NodeJS.Timeout;
  private recheckTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly opts: PoolManagerOptions) {
    this.probe = opts.probe ?? ((disk) => probeDiskDevice(disk));
    this.controller = new Controller({ name: 'pool-manager', reconcile: (name, signal) => this.reconcile(name, signal), workers: 1, logger: opts.logger });
    const enqueue = (obj: LocalDisk): void => this.controller.enqueue(obj.metadata!.name!);
    opts.informer.on('add', enqueue);
    opts.informer.on('update', enqueue);
    opts.informer.on('delete', (obj) => {
      for (const m of [this.settled, this.problemsByDisk, this.conditionWritten]) m.delete(obj.metadata!.name!);
    });
  }

  /** Activates the Loam VGs, then starts reconciling every disk of the node (the informer must be synced). */
  async start(): Promise<void> {
    await this.activateVgs();
    this.controller.start();
    for (const disk of this.opts.informer.cache.list()) this.controller.enqueue(disk.metadata!.name!);
    this.recheckTimer = setInterval(() => {
      for (const name of this.problemsByDisk.keys()) this.controller.enqueue(name);
      void this.watchMissingPvs();
    }, this.opts.recheckMs ?? 60_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.activationRetry);
    clearInterval(this.recheckTimer);
    await this.controller.stop({ abort: true });
  }

  /** Disks that could not be pooled now, for the LocalStorageNode. */
  problems(): PoolProblem[] {
    return [...this.problemsByDisk.values()].sort((a, b) => a.disk.localeCompare(b.disk));
  }

  /** Loam VGs whose `vgchange -ay` failed, with LVM's line (empty when all are active). */
  activationFailures(): Map<string, string> {
    return new Map(this.activationErrors);
  }

  /**
   * `vgchange -ay` of every Loam VG; a failure is retried every 30 s and keeps the node NotReady
   * meanwhile. A VG with a missing PV is not a failure of the node: vgchange activates the LVs that
   * lie wholly on present PVs (and fails for the others), the pool is reported Degraded, the missing
   * disks get an event, and activation is tried again every 30 s (the disk may come back).
   */
  private async activateVgs(): Promise<void> {
    const log = this.opts.logger;
    let vgs;
    try {
      vgs = (await this.opts.lvm.vgs()).filter(isLoamVg);
    } catch (err) {
      this.activationErrors.set('*', lvmLine(err));
      log.error('cannot list volume groups to activate them', { error: (err as Error).message });
      this.retryActivation();
      return;
    }
    this.activationErrors.delete('*');
    for (const vg of vgs) {
      try {
        await this.opts.lvm.activateVg(vg.name);
        this.activationErrors.delete(vg.name);
        log.info('volume group active', { vg: vg.name, pvs: vg.pvCount, lvs: vg.lvCount });
      } catch (err) {
        if ((vg.missingPvCount ?? 0) > 0) {
          this.activationErrors.delete(vg.name);
          log.warn('volume group active in part: a physical volume is missing', { vg: vg.name, missing: vg.missingPvCount, error: lvmLine(err) });
          continue;
        }
        this.activationErrors.set(vg.name, lvmLine(err));
        log.error('cannot activate volume group', { vg: vg.name, error: (err as Error).message });
      }
    }
    const degraded = vgs.some((vg) => (vg.missingPvCount ?? 0) > 0);
    if (degraded) await this.reportMissingPvs();
    if (this.activationErrors.size > 0 || degraded) this.retryActivation();
  }

  /**
   * A disk can also go while loam-node runs: its PV is looked for at each recheck, so the event is
   * raised and activation retried (the disk may come back) without waiting for a restart.
   */
  private async watchMissingPvs(): Promise<void> {
    try {
      const degraded = (await this.opts.lvm.vgs()).filter(isLoamVg).some((vg) => (vg.missingPvCount ?? 0) > 0);
      if (!degraded) {
        this.missingReported.clear();
        return;
      }
      await this.reportMissingPvs();
      if (!this.activationRetry) this.retryActivation();
    } catch (err) {
      this.opts.logger.debug('cannot look for missing physical volumes', { error: lvmLine(err) });
    }
  }

  /** A Warning event on each LocalDisk whose PV (by the UUID it recorded) a Loam VG misses, once per disk. */
  private async reportMissingPvs(): Promise<void> {
    let pvs;
    try {
      pvs = await this.opts.lvm.pvs();
    } catch (err) {
      this.opts.logger.warn('cannot list physical volumes to name the missing ones', { error: lvmLine(err) });
      return;
    }
    const disks = this.opts.informer.cache.list();
    for (const pv of pvs.filter((p) => p.missing && p.vgName !== '')) {
      if (this.missingReported.has(pv.uuid)) continue;
      const disk = disks.find((d) => d.status?.pvUuid === pv.uuid);
      this.opts.logger.warn('physical volume missing', { vg: pv.vgName, uuid: pv.uuid, disk: disk?.metadata?.name });
      if (!disk) continue;
      this.missingReported.add(pv.uuid);
      void this.opts.recorder.record(disk, {
        type: 'Warning', reason: 'PhysicalVolumeMissing', action: 'Activate',
        note: `the physical volume of this disk (${pv.uuid}) is missing from volume group ${pv.vgName}: pool ${pv.vgName} is Degraded; volumes wholly on its other disks keep working. `
          + `Bring the disk back, or give it up with vgreduce --removemissing ${pv.vgName} (the volumes on it are lost)`,
      });
    }
  }

  private retryActivation(): void {
    if (this.stopped) return;
    clearTimeout(this.activationRetry);
    this.activationRetry = setTimeout(() => {
      this.activationRetry = undefined;
      void this.activateVgs().then(() => this.poolsChanged());
    }, 30_000);
  }

  /** The LocalStorageNode follows; a failed write is repaired by the next heartbeat. */
  private async poolsChanged(): Promise<void> {
    try {
      await this.opts.onPoolsChanged();
    } catch (err) {
      this.opts.logger.warn('could not update the pool report', { error: (err as Error).message });
    }
  }

  private async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult | void> {
    const disk = this.opts.informer.cache.get(name);
    if (!disk) return;
    if (validateLocalDisk(disk).length > 0) return; // loam-node's publisher reports invalid objects
    const early = poolCandidate(disk, this.opts.nodeName);
    if (early) {
      this.settled.delete(name);
      if (this.problemsByDisk.delete(name)) void this.poolsChanged();
      return;
    }
    if (disk.status?.state === 'InUse' && this.settled.get(name) === disk.spec.devicePath) return;
    const log = this.opts.logger.child({ disk: name });
    const device = await this.probe(disk);
    const [pvs, vgs] = await Promise.all([this.opts.lvm.pvs({ signal }), this.opts.lvm.vgs({ signal })]);
    const pv = device ? await pvOfDevice(pvs, device.rdev) : undefined;
    const action = planPool({ disk, nodeName: this.opts.nodeName, facts: device?.facts, pv, vgs, freshPvUuid: newPvUuid() });
    log.debug('pool plan', { action, pv: pv?.pvName });
    try {
      switch (action.kind) {
        case 'ignore':
        case 'wait':
          return;
        case 'refuse':
          await this.refuse(disk, action, device);
          return;
        case 'pool':
          return await this.pool(disk, action, device!, signal, log);
      }
    } catch (err) {
      // A stale cache (409) or a disk deleted meanwhile (404): the informer brings the news.
      if (isConflict(err) || isNotFound(err)) return { requeue: true };
      throw err;
    }
  }

  /** Pools the disk; `{ requeue }` when it only wrote the PV UUID record (the next pass, on the new object, goes on). */
  private async pool(disk: LocalDisk, plan: Extract<PoolAction, { kind: 'pool' }>, device: ProbedDevice, signal: AbortSignal, log: Logger): Promise<ReconcileResult | undefined> {
    const name = disk.metadata!.name!;
    const { lvm } = this.opts;
    const path = device.lvmPath;
    if (plan.pvcreate && plan.recordPvUuid) {
      // Loam's own record that Loam makes this PV, written before the PV exists: after a crash
      // between pvcreate and vgcreate/vgextend, only a bare PV with this UUID is adopted.
      await patchStatus(this.opts.clients, loamResources.localDisks, { name }, { pvUuid: plan.pvUuid }, { resourceVersion: disk.metadata?.resourceVersion, fieldManager: poolFieldManager });
      return { requeue: true };
    }
    try {
      if (plan.pvcreate) {
        try {
          await lvm.pvcreate(path, { signal, uuid: plan.pvUuid });
        } catch (err) {
          // pvcreate refuses (it asks, and stdin says no) when something was written since the probe.
          const now = err instanceof LvmError ? await this.probe(disk) : undefined;
          const verdict = now && assessSafety(now.facts);
          if (verdict && !verdict.safe) {
            await this.refuse(disk, { kind: 'refuse', code: 'NotSafe', message: notSafeMessage(verdict) }, now);
            return undefined;
          }
          throw err;
        }
        log.info('physical volume created', { device: path, uuid: plan.pvUuid });
      }
      if (plan.vg === 'create') {
        await lvm.vgcreate(plan.vgName, [path], { signal });
        log.info('volume group created', { vg: plan.vgName, device: path });
      } else if (plan.vg === 'extend') {
        await lvm.vgextend(plan.vgName, [path], { signal });
        log.info('volume group extended', { vg: plan.vgName, device: path });
      }
    } catch (err) {
      if (!(err instanceof LvmError)) throw err;
      await this.problem(disk, device, { status: 'False', reason: 'LvmFailed', message: `${err.command} ${path} failed: ${err.line}` }, 'PoolingFailed');
      throw err;
    }
    // Report the LVM change before the status write: that write may meet a newer object (409) and
    // be redone by the next pass, which then sees nothing left to do in LVM.
    const changed = plan.pvcreate || plan.vg !== 'none';
    if (changed) {
      void this.opts.recorder.record(disk, { type: 'Normal', reason: 'DiskPooled', action: 'Pool', note: `${path} joined volume group ${plan.vgName} (${plan.vg === 'create' ? 'created' : 'extended'})` });
      log.info('disk pooled', { vg: plan.vgName, device: path });
    }
    const hadProblem = this.problemsByDisk.delete(name);
    // Not awaited: the next disk need not wait for the report (replicas, which must, await it themselves).
    if (changed || hadProblem) void this.poolsChanged();
    await this.writeCondition(disk, inPool(plan.vgName, path), plan.recordPvUuid ? plan.pvUuid : undefined);
    this.settled.set(name, disk.spec.devicePath);
    return undefined;
  }

  private async refuse(disk: LocalDisk, action: Extract<PoolAction, { kind: 'refuse' }>, device: ProbedDevice | undefined): Promise<void> {
    this.settled.delete(disk.metadata!.name!);
    await this.problem(disk, device, { status: 'False', reason: action.code, message: `the disk ${action.message}` }, action.code === 'ForeignVolumeGroup' ? 'ForeignVolumeGroup' : 'DiskNotPooled');
  }

  /**
   * Records why a disk is not pooled: a Warning event and the Pooled condition, once per distinct
   * message (a retry loop does not repeat them), and a line for the LocalStorageNode.
   */
  private async problem(disk: LocalDisk, device: ProbedDevice | undefined, want: PooledState, eventReason: string): Promise<void> {
    const name = disk.metadata!.name!;
    if (this.problemsByDisk.get(name)?.message !== want.message) {
      this.problemsByDisk.set(name, { disk: name, device: device?.devnode ?? disk.spec.devicePath, message: want.message });
      this.opts.logger.warn('disk not pooled', { disk: name, reason: want.reason, message: want.message });
      void this.opts.recorder.record(disk, { type: 'Warning', reason: eventReason, action: 'Pool', note: want.message });
      void this.poolsChanged();
    }
    await this.writeCondition(disk, want);
  }

  /**
   * Writes the Pooled condition (and InUse) under the object's resourceVersion, once per distinct
   * value: loam-node's publisher may rewrite the condition list, and the two must not take turns.
   */
  private async writeCondition(disk: LocalDisk, want: PooledState, pvUuid?: string): Promise<void> {
    const name = disk.metadata!.name!;
    const key = `${want.status}|${want.reason}|${want.message}`;
    const stateDone = want.status === 'False' || disk.status?.state === 'InUse';
    if (stateDone && !pvUuid && (pooledMatches(disk, want) || this.conditionWritten.get(name) === key)) return;
    const patch = { ...poolStatusPatch(disk, want, new Date()), ...(pvUuid ? { pvUuid } : {}) };
    await patchStatus(this.opts.clients, loamResources.localDisks, { name }, patch, { resourceVersion: disk.metadata?.resourceVersion, fieldManager: poolFieldManager });
    this.conditionWritten.set(name, key);
  }
}

function lvmLine(err: unknown): string {
  return err instanceof LvmError ? err.line : (err as Error).message;
}
