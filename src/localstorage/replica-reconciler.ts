/**
 * The node agent's ReplicaReconciler: turns the LocalVolumeReplicas of its node into LVs and reports
 * them. The shape is the usual one: read the replica from the cache (gone → done) → skip another
 * node's → make sure the finalizer is there → act idempotently → write status → on deletion remove
 * the LV ("already gone" is success), then drop the finalizer.
 *
 * Acting idempotently: a replica that has reported an LV is looked up with `lvs` and planned from
 * what is there. A replica that never reported one goes straight to lvcreate, which refuses a name
 * that is taken; only then is the LV looked at (our previous life made it before a crash, or it is
 * someone else's). So a new volume costs one LVM command, and a restart never creates twice.
 * The pool report follows each change by arithmetic (StorageNodeReporter.lvChanged).
 *
 * Whose an LV is comes from LVM's tags (`loam.io/replica-uid=<uid>`, see replica-plan.ts), never
 * from its name. A deleted replica's LV is removed only when its volume no longer wants it: the
 * LocalVolume is read (one GET, deletion only) and, if it exists, is not being deleted and still
 * places a replica on this node, the replica was deleted by hand: the LV and the finalizer stay
 * (`Held`), with a Warning event, and the LV goes when the volume itself is deleted.
 *
 * LVM failures become the replica's status.message and a Warning Event carrying LVM's own line,
 * and the key is retried with the Controller's backoff. Only what retrying cannot fix (an LV of our
 * name that Loam did not make, a missing pool) is `Failed`, and even that is looked at again on
 * every resync.
 *
 * Test hook: `LOAM_TEST_PAUSE_AFTER_LVCREATE_MS` (or the option `pauseAfterCreateMs`) sleeps between
 * lvcreate and the status write, so the e2e test can kill -9 the agent exactly there. Unset, it is inert.
 */
import { finalizer, loamResources, nodeLabelSelector, validateLocalVolumeReplica, type LocalVolume, type LocalVolumeReplica, type LocalVolumeReplicaStatus } from '../api/index.js';
import { componentLogger, type Logger } from '../common/logger.js';
import { Controller, informerFor, isConflict, isNotFound, mergePatch, OwnWrites, patchStatus, resourcePath, sleep, type EventRecorder, type KubeClients, type ReconcileResult, type Informer, type SharedInformers } from '../kube/index.js';
import { LvmError, replicaUidOf, type Lvm, type LvReport, type LvSpec } from './lvm.js';
import { unownedLvs } from './orphans-lvs.js';
import { UnownedLvReporter } from './orphans-lvs-report.js';
import { inStep, needsReconcile, planReplica, type ReplicaAction } from './replica-plan.js';
import { notReadyStatus, readyStatus, stateDuring, statusPatch, type ReplicaReason } from './replica-status.js';
import type { LvChange } from './storage-node.js';

export const replicaFieldManager = 'loam-node';

export interface ReplicaReconcilerOptions {
  clients: KubeClients;
  nodeName: string;
  /** The process's shared informers (the node's replicas are watched by the CSI node service too). */
  informers?: SharedInformers;
  lvm: Lvm;
  recorder: EventRecorder;
  /** The node's pool report: told of every LV change; knows each VG's extent size. */
  pools: PoolReportView;
  workers?: number;
  logger?: Logger;
  /** This often (ms, default 60 s) one `lvs` is compared with every replica: LVs changed behind our back. */
  resyncMs?: number;
  /** A Failed replica is looked at again after this long (ms, default 30 s), e.g. once its pool exists. */
  failedRecheckMs?: number;
  /** Test hook, see the module comment. */
  pauseAfterCreateMs?: number;
}

/** What the reconciler needs of the StorageNodeReporter. */
export interface PoolReportView {
  extentBytes(vgName: string): number | undefined;
  lvChanged(change: LvChange): Promise<void>;
  refresh(): Promise<void>;
}

type LvStep = 'create' | 'extend' | 'activate' | 'tag' | 'remove';

const stepAction: Record<LvStep, string> = { create: 'CreateLv', extend: 'ExtendLv', activate: 'ActivateLv', tag: 'TagLv', remove: 'RemoveLv' };

/** A condition that retrying will not fix: the replica goes Failed until someone acts. */
class NeedsAttention extends Error {
  constructor(readonly reason: ReplicaReason, message: string) {
    super(message);
  }
}

function foreignLv(vgName: string, lvName: string): NeedsAttention {
  return new NeedsAttention('ForeignLv', `an LV named ${lvName} exists in VG ${vgName} that Loam did not create (it has no loam.io tag); Loam leaves it alone: rename or remove it, or delete this volume`);
}

function takenLv(lv: LvReport): NeedsAttention {
  const owner = replicaUidOf(lv);
  const whose = owner ? `was made for another LocalVolumeReplica (uid ${owner}), e.g. of an earlier volume of the same name` : 'was made by Loam before LVs carried their replica\'s UID, and this replica never reported it';
  return new NeedsAttention('LvTaken', `LV ${lv.vgName}/${lv.name} ${whose}; Loam neither adopts nor removes it (its data may be someone else's). `
    + `It is listed in this node's LocalStorageNode status.unownedVolumes. Look at its data, then remove it (lvremove ${lv.vgName}/${lv.name}) and this replica is made afresh, or delete this volume`);
}

export class ReplicaReconciler {
  private readonly log: Logger;
  private readonly informer: Informer<LocalVolumeReplica>;
  private readonly controller: Controller;
  /** Our status writes, read until the cache has them: a reconcile right after one must not act on the older copy. */
  private readonly written: OwnWrites<LocalVolumeReplica>;
  private readonly pauseAfterCreateMs: number;
  private readonly unowned: UnownedLvReporter;
  private resyncTimer?: NodeJS.Timeout;
  private started = false;

  constructor(private readonly opts: ReplicaReconcilerOptions) {
    this.log = opts.logger ?? componentLogger('replica-reconciler');
    this.pauseAfterCreateMs = opts.pauseAfterCreateMs ?? Number(process.env.LOAM_TEST_PAUSE_AFTER_LVCREATE_MS ?? 0);
    const replicas = { resource: loamResources.localVolumeReplicas, labelSelector: nodeLabelSelector(opts.nodeName), logger: this.log };
    this.informer = informerFor<LocalVolumeReplica>(opts.clients.rest, replicas, opts.informers);
    this.written = new OwnWrites<LocalVolumeReplica>({ cached: (name) => this.informer.cache.get(name) });
    this.unowned = new UnownedLvReporter({ clients: opts.clients, nodeName: opts.nodeName, recorder: opts.recorder, fieldManager: replicaFieldManager, log: this.log });
    this.informer.on('update', (obj) => this.written.seen(obj));
    this.informer.on('delete', (obj) => this.written.deleted(obj));
    this.controller = new Controller({ name: 'replica-reconciler', reconcile: (name, signal) => this.reconcile(name, signal), workers: opts.workers ?? 2, logger: this.log });
    const enqueue = (obj: LocalVolumeReplica): void => this.controller.enqueue(obj.metadata.name!);
    this.informer.on('add', enqueue);
    this.informer.on('update', (obj, old, source) => {
      if (source === 'list' || needsReconcile(obj, old)) enqueue(obj);
    });
  }

  /** Resolves once the replicas of this node are cached and queued; the workers run until stop(). */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.started) return;
    this.started = true;
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    this.informer.start();
    await this.informer.waitForSync(120_000);
    this.controller.start();
    await this.resyncPass();
    this.resyncTimer = setInterval(() => void this.resyncPass(), this.opts.resyncMs ?? 60_000);
    this.resyncTimer.unref();
    this.log.info('replica reconciler started', { node: this.opts.nodeName, replicas: this.informer.cache.list().length });
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    clearInterval(this.resyncTimer);
    await this.controller.stop({ abort: true });
    await this.informer.stop();
  }

  /**
   * One `lvs` of the node against every replica's status: those not in step (see `inStep`) are
   * reconciled. When LVM cannot be read, every replica is (each reconcile then reports the error).
   * The same `lvs` finds the Loam LVs no replica owns, reported on the LocalStorageNode. Replicas
   * are read after `lvs`: a replica is in the cache before its LV exists and leaves it only after
   * its LV is removed, so an LV in flight is never reported as unowned.
   */
  private async resyncPass(): Promise<void> {
    let lvs: Map<string, LvReport>;
    const replicas = (): LocalVolumeReplica[] => this.informer.cache.list().map((r) => this.written.get(r.metadata.name!) ?? r).filter((r) => r.spec?.nodeName === this.opts.nodeName);
    try {
      lvs = new Map((await this.opts.lvm.lvs()).map((lv) => [`${lv.vgName}/${lv.name}`, lv]));
    } catch (err) {
      this.log.warn('lvs failed on the periodic pass; reconciling every replica', { error: (err as Error).message });
      for (const r of replicas()) this.controller.enqueue(r.metadata.name!);
      return;
    }
    const mine = replicas();
    await this.unowned.report(unownedLvs([...lvs.values()], mine));
    let queued = 0;
    for (const r of mine) {
      if (inStep(r, lvs.get(`${r.spec.poolName}/${r.spec.volumeName}`))) continue;
      this.controller.enqueue(r.metadata.name!);
      queued++;
    }
    this.log.debug('periodic pass', { replicas: mine.length, queued });
  }

  private async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult | void> {
    const cached = this.written.get(name);
    // Gone: its finalizer made sure the LV went first.
    if (!cached || cached.spec?.nodeName !== this.opts.nodeName) return;
    // Cached objects are shared: this reconcile keeps its own copy of what it has written to status.
    let replica: LocalVolumeReplica = { ...cached };
    const log = this.log.child({ replica: name });
    const deleting = Boolean(replica.metadata.deletionTimestamp);
    if (!deleting) {
      const problems = validateLocalVolumeReplica(replica);
      if (problems.length > 0) return this.reportInvalid(replica, problems);
    }
    try {
      if (!deleting && !replica.metadata.finalizers?.includes(finalizer)) {
        replica = await this.addFinalizer(replica);
        this.written.wrote(replica);
      }
      return await this.act(replica, signal, log);
    } catch (err) {
      // A stale cache (409) or an object deleted meanwhile (404): the informer brings the news.
      if (isConflict(err) || isNotFound(err)) return { requeue: true };
      if (err instanceof NeedsAttention) return this.reportFailed(replica, err);
      throw err;
    }
  }

  private async act(replica: LocalVolumeReplica, signal: AbortSignal, log: Logger): Promise<ReconcileResult | void> {
    const { poolName: vg, volumeName: lvName } = replica.spec;
    const neverReported = !replica.metadata.deletionTimestamp && replica.status?.allocatedBytes === undefined;
    const lv = neverReported ? undefined : await this.opts.lvm.findLv(vg, lvName, { signal });
    let action = planReplica(replica, lv);
    // Before an LV is removed: was the replica deleted by hand while its volume still wants it?
    if (action.kind === 'remove') action = planReplica(replica, lv, { volumeWantsIt: await this.volumeWantsIt(replica, signal) });
    return this.perform(replica, action, signal, log);
  }

  /** The replica's LocalVolume exists, is not being deleted and still places a replica on this node (read from the server: this decides whether data is removed). */
  private async volumeWantsIt(replica: LocalVolumeReplica, signal: AbortSignal): Promise<boolean> {
    let volume: LocalVolume;
    try {
      volume = await this.opts.clients.rest.request<LocalVolume>('GET', resourcePath(loamResources.localVolumes, undefined, replica.spec.volumeName), { signal });
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    return !volume.metadata.deletionTimestamp && (volume.spec?.replicaNodes ?? []).includes(this.opts.nodeName);
  }

  private async perform(replica: LocalVolumeReplica, action: ReplicaAction, signal: AbortSignal, log: Logger): Promise<ReconcileResult | void> {
    const { poolName: vg, volumeName: lvName, capacityBytes } = replica.spec;
    const extentBytes = this.opts.pools.extentBytes(vg);
    switch (action.kind) {
      case 'create': {
        const outcome = await this.lvStep(replica, 'create', () => this.createLv({ vgName: vg, lvName, sizeBytes: capacityBytes, extentBytes, replicaUid: replica.metadata.uid }, signal));
        // It was there already (made before a crash): plan from what is there.
        if (!outcome.created) return this.perform(replica, planReplica(replica, outcome.lv), signal, log);
        const created = outcome.lv;
        log.info('LV created', { lv: created.path, bytes: created.sizeBytes });
        if (this.pauseAfterCreateMs > 0) await sleep(this.pauseAfterCreateMs, signal);
        await this.poolsChanged(log, { lv: created, previousBytes: 0 });
        void this.event(replica, 'Normal', 'LvCreated', 'CreateLv', `created LV ${created.path} of ${created.sizeBytes} bytes`);
        return this.writeReady(replica, created);
      }
      case 'extend': {
        await this.writeStatus(replica, notReadyStatus(replica, 'Expanding', 'Expanding', `growing LV ${action.lv.path} from ${action.lv.sizeBytes} to ${capacityBytes} bytes`, new Date()));
        const grown = await this.lvStep(replica, 'extend', () => this.opts.lvm.lvextend({ vgName: vg, lvName, sizeBytes: capacityBytes, extentBytes }, { signal, current: action.lv }));
        log.info('LV extended', { lv: grown.path, from: action.lv.sizeBytes, to: grown.sizeBytes });
        await this.poolsChanged(log, { lv: grown, previousBytes: action.lv.sizeBytes });
        void this.event(replica, 'Normal', 'LvExtended', 'ExtendLv', `grew LV ${grown.path} from ${action.lv.sizeBytes} to ${grown.sizeBytes} bytes`);
        return this.writeReady(replica, grown);
      }
      case 'activate': {
        await this.lvStep(replica, 'activate', () => this.opts.lvm.activateVg(vg, { signal }));
        const active = await this.opts.lvm.findLv(vg, lvName, { signal });
        if (!active?.active) throw new Error(`LV ${action.lv.path} is still inactive after vgchange -ay ${vg}`);
        log.info('LV activated', { lv: active.path });
        return this.writeReady(replica, active);
      }
      case 'report':
        // Status that does not show this LV yet: the agent died after lvcreate/lvextend, before
        // reporting; whether the pool report counted it is unknown, so LVM is read again.
        if (replica.status?.allocatedBytes !== action.lv.sizeBytes) await this.poolsChanged(log);
        return this.writeReady(replica, action.lv);
      case 'foreign':
        throw foreignLv(vg, lvName);
      case 'taken':
        throw takenLv(action.lv);
      case 'tag': {
        // Made before the UID tag and reported by this replica: it is this replica's; say so in LVM.
        const tagged = await this.lvStep(replica, 'tag', () => this.opts.lvm.tagReplicaUid(action.lv, replica.metadata.uid!, { signal }));
        log.info('LV of an earlier version tagged with its replica\'s UID', { lv: tagged.path });
        void this.event(replica, 'Normal', 'LvTagged', 'TagLv', `tagged LV ${tagged.path} with this replica's UID (it was made before LVs carried one)`);
        return this.perform(replica, planReplica(replica, tagged), signal, log);
      }
      case 'hold':
        return this.hold(replica, action.lv);
      case 'missing':
        throw new NeedsAttention('LvMissing', `LV ${vg}/${lvName}, which held this replica's data (${replica.status?.allocatedBytes} bytes), is gone from node ${this.opts.nodeName}: removed outside Loam, or a disk of ${vg} is missing. Loam does not make it again empty, as the workload would start on an empty disk without noticing; if a disk is missing, bring it back and the replica recovers; otherwise delete the volume and restore its data from a backup`);
      case 'remove': {
        await this.writeStatus(replica, notReadyStatus(replica, 'Deleting', 'Deleting', `removing LV ${action.lv.path}`, new Date()));
        const removed = await this.lvStep(replica, 'remove', () => this.opts.lvm.lvremove(vg, lvName, { signal, current: action.lv }));
        log.info('LV removed', { lv: action.lv.path });
        await this.poolsChanged(log, removed ? { removed: action.lv } : undefined);
        void this.event(replica, 'Normal', 'LvRemoved', 'RemoveLv', `removed LV ${action.lv.path}`);
        return this.removeFinalizer(replica);
      }
      case 'release':
        if (action.foreign) void this.event(replica, 'Warning', 'ForeignLvKept', 'RemoveLv', `LV ${action.foreign.path} has no loam.io tag, so Loam did not create it and left it in place`);
        if (action.kept) void this.event(replica, 'Warning', 'LvKept', 'RemoveLv', `LV ${action.kept.path} is not this replica's (its tags name ${replicaUidOf(action.kept) ?? 'no replica'}), so Loam left it in place; it is listed in LocalStorageNode status.unownedVolumes`);
        return this.removeFinalizer(replica);
    }
  }

  /**
   * The replica was deleted by hand while its volume still wants it: the LV and the finalizer stay,
   * the status says so (the LV is still reported, so nothing downstream mistakes it for lost) and a
   * Warning event is sent once. Looked at again, as the volume's deletion wakes no replica event.
   */
  private async hold(replica: LocalVolumeReplica, lv: LvReport): Promise<ReconcileResult> {
    const message = `deleted by hand while LocalVolume ${replica.spec.volumeName} still uses it: Loam keeps LV ${lv.path} and its data, and this object (its finalizer holds), `
      + `until the volume itself is deleted (delete its PersistentVolumeClaim); the replica is not made again`;
    if (replica.status?.message !== message) {
      this.log.warn('replica deleted by hand while its volume uses it; LV kept', { replica: replica.metadata.name, lv: lv.path });
      void this.event(replica, 'Warning', 'DeletionHeld', 'RemoveLv', message);
    }
    await this.writeStatus(replica, { ...readyStatus(replica, lv, new Date()), message });
    return { requeueAfterMs: this.opts.failedRecheckMs ?? 30_000 };
  }

  /**
   * lvcreate, safe to repeat after a crash: when it fails, a look tells "an LV of that name exists"
   * (returned with created false; the plan then decides whose it is: ours from a previous life,
   * another replica's, or not Loam's) from a real failure, and a missing VG is named as such.
   */
  private async createLv(spec: LvSpec, signal: AbortSignal): Promise<{ lv: LvReport; created: boolean }> {
    const { vgName, lvName } = spec;
    try {
      return { lv: await this.opts.lvm.lvcreate(spec, { signal }), created: true };
    } catch (err) {
      if (!(err instanceof LvmError)) throw err;
      const existing = await this.opts.lvm.findLv(vgName, lvName, { signal });
      if (existing) return { lv: existing, created: false };
      const vgs = await this.opts.lvm.vgs({ signal });
      if (!vgs.some((v) => v.name === vgName)) {
        throw new NeedsAttention('PoolMissing', `pool ${vgName} does not exist on node ${this.opts.nodeName}: give this node a disk of that class with a LocalDiskClaim (owner local-storage)`);
      }
      throw err;
    }
  }

  /** Runs one LVM step; an LvmError goes into status and a Warning Event before the retry. */
  private async lvStep<T>(replica: LocalVolumeReplica, step: LvStep, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof LvmError)) throw err;
      const message = `${err.command || 'lvm'} failed: ${err.line}`;
      this.log.warn('LVM step failed; will retry with backoff', { replica: replica.metadata.name, step, args: err.args, exitCode: err.exitCode, line: err.line });
      void this.event(replica, 'Warning', 'LvmFailed', stepAction[step], message);
      await this.writeStatus(replica, notReadyStatus(replica, stateDuring(step, replica.status?.state), 'LvmError', message, new Date())).catch((e: unknown) => {
        this.log.warn('could not record the LVM failure in status', { replica: replica.metadata.name, error: (e as Error).message });
      });
      throw err;
    }
  }

  private writeReady(replica: LocalVolumeReplica, lv: LvReport): Promise<void> {
    return this.writeStatus(replica, readyStatus(replica, lv, new Date()));
  }

  private async writeStatus(replica: LocalVolumeReplica, next: LocalVolumeReplicaStatus): Promise<void> {
    const patch = statusPatch(replica.status, next);
    if (!patch) return;
    const stored = await patchStatus<LocalVolumeReplica>(this.opts.clients, loamResources.localVolumeReplicas, { name: replica.metadata.name! }, patch, { fieldManager: replicaFieldManager });
    // Keep this reconcile's copy current: a later write compares with what is stored now, and the
    // finalizer patch needs the new resourceVersion.
    replica.status = next;
    replica.metadata = stored.metadata;
    this.written.wrote(stored);
  }

  private async reportFailed(replica: LocalVolumeReplica, err: NeedsAttention): Promise<ReconcileResult> {
    this.log.warn('replica needs attention', { replica: replica.metadata.name, reason: err.reason, message: err.message });
    if (replica.status?.state !== 'Failed' || replica.status.message !== err.message) {
      void this.event(replica, 'Warning', err.reason, 'CreateLv', err.message);
    }
    await this.writeStatus(replica, notReadyStatus(replica, 'Failed', err.reason, err.message, new Date()));
    return { requeueAfterMs: this.opts.failedRecheckMs ?? 30_000 };
  }

  /** An object that fails validation is not acted on: its status says why, and an event too. */
  private async reportInvalid(replica: LocalVolumeReplica, problems: string[]): Promise<void> {
    const message = `not processed: the object is invalid: ${problems.join('; ')}`;
    this.log.warn('invalid LocalVolumeReplica skipped', { replica: replica.metadata.name, problems });
    if (replica.status?.message === message) return;
    await this.writeStatus(replica, notReadyStatus(replica, 'Failed', 'InvalidObject', message, new Date()));
    void this.event(replica, 'Warning', 'InvalidObject', 'Validate', message);
  }

  private addFinalizer(replica: LocalVolumeReplica): Promise<LocalVolumeReplica> {
    // The whole list under the resourceVersion: a concurrent change of finalizers gives 409, not a lost entry.
    return mergePatch<LocalVolumeReplica>(this.opts.clients, loamResources.localVolumeReplicas, { name: replica.metadata.name! },
      { metadata: { finalizers: [...(replica.metadata.finalizers ?? []), finalizer] } }, { resourceVersion: replica.metadata.resourceVersion, fieldManager: replicaFieldManager });
  }

  private async removeFinalizer(replica: LocalVolumeReplica): Promise<void> {
    if (!replica.metadata.finalizers?.includes(finalizer)) return;
    await mergePatch(this.opts.clients, loamResources.localVolumeReplicas, { name: replica.metadata.name! },
      { metadata: { finalizers: replica.metadata.finalizers.filter((f) => f !== finalizer) } }, { resourceVersion: replica.metadata.resourceVersion, fieldManager: replicaFieldManager });
  }

  /**
   * Tells the pool report of a change (or, without one, has it read LVM again). A failure there
   * must not undo or repeat LV work: the heartbeat's full read catches up.
   */
  private async poolsChanged(log: Logger, change?: LvChange): Promise<void> {
    try {
      await (change ? this.opts.pools.lvChanged(change) : this.opts.pools.refresh());
    } catch (err) {
      log.warn('pool report update failed; the next full read will catch up', { error: (err as Error).message });
    }
  }

  private event(replica: LocalVolumeReplica, type: 'Normal' | 'Warning', reason: string, action: string, note: string): Promise<string | undefined> {
    return this.opts.recorder.record(replica, { type, reason, action, note });
  }
}
