/**
 * Reconciles one LocalVolume, in the shape every Loam reconciler has: read it (gone → delete the
 * replicas left behind) → on deletion, unless a PersistentVolume still uses it (volume-protection.ts:
 * then it waits, saying why), delete its replicas, wait until node agents have removed their LVs,
 * then drop the finalizer → validate → place it once, the finalizer added in the same
 * write (spec.replicaNodes is the record of the decision and is never revised; a volume that must
 * wait gets the finalizer alone) → create missing replicas (only while the volume has never held
 * data: a replica gone afterwards is reported, never made again empty; see volume-status.ts) → grow replicas to spec.capacityBytes →
 * write the status aggregated from the replicas. Level-based: it reads the caches, never the event
 * that woke it; every step may be repeated after a crash at any line.
 *
 * Burst safety: a placement decision and the ledger entry that records its bytes are taken in one
 * synchronous step (no await in between), so no two decisions of this process interleave, and the
 * next decision counts the bytes before the API server has even answered. Only the leader places.
 */
import { finalizer, loamResources, localVolumeReplicaName, validateLocalVolume, type LocalStorageNode, type LocalVolume, type LocalVolumeReplica, type MediaClass } from '../api/index.js';
import { formatCapacity } from '../api/index.js';
import type { V1PersistentVolume } from '@kubernetes/client-node';
import type { Logger } from '../common/logger.js';
import type { KubeClients, ReconcileResult } from '../kube/index.js';
import { vgNameOfClass } from './lvm.js';
import { choosePlacement, type PlacementResult, type PoolCandidate } from './placement.js';
import type { PlacementLedger } from './placement-ledger.js';
import { placementCandidates, poolRoom, type RefusedNode, type RoomSources } from './placement-room.js';
import type { VolumeEvents } from './volume-events.js';
import { deletionHeldBy } from './volume-protection.js';
import { holdsData, sameVolumeStatus, volumeStatus, type VolumeStatusInput } from './volume-status.js';
import { createReplica, deleteObject, growReplica, listReplicasOf, readVolume, replicaFor, setFinalizer, setReplicaNodes, writeVolumeStatus } from './volume-writes.js';

/** What the reconciler reads: the placer's informer caches (with its own newest writes laid over). */
export interface VolumeCaches extends RoomSources {
  volume(name: string): LocalVolume | undefined;
  replicasOf(volumeName: string): LocalVolumeReplica[];
  storageNodes(): LocalStorageNode[];
  /** Nodes deleted from the cluster for longer than the grace period (orphans.ts). */
  goneNodes(): ReadonlySet<string>;
  /** PersistentVolumes of driver lvm.loam.io whose spec.csi.volumeHandle names the volume. */
  persistentVolumesOf(volumeName: string): V1PersistentVolume[];
  /** A write of ours returned this object: read it instead of an older cached copy. */
  wrote(volume: LocalVolume): void;
}

export interface VolumeReconcilerOptions {
  clients: Pick<KubeClients, 'rest' | 'customObjects'>;
  caches: VolumeCaches;
  events: VolumeEvents;
  ledger: PlacementLedger;
  log: Logger;
  now?: () => Date;
}

const retrySoon: ReconcileResult = { requeue: true };
/** A safety net for a missed replica event while waiting for node agents; events normally come first. */
const waitForAgents: ReconcileResult = { requeueAfterMs: 15_000 };

export class VolumeReconciler {
  private readonly now: () => Date;

  constructor(private readonly opts: VolumeReconcilerOptions) {
    this.now = opts.now ?? (() => new Date());
  }

  async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult | void> {
    const volume = this.opts.caches.volume(name);
    if (!volume) return this.deleteLeftovers(name);
    if (volume.metadata.deletionTimestamp) return this.finalize(volume, signal);
    const problems = validateLocalVolume(volume);
    if (problems.length > 0) return this.reportInvalid(volume, problems);
    let current = volume;
    let pendingMessage: string | undefined;
    if (!current.spec.replicaNodes?.length) {
      // The finalizer goes on in the same write as the decision (or alone, if the volume must wait).
      const placed = await this.place(current);
      if (placed === 'conflict') return retrySoon;
      if (placed === 'gone') return;
      if (typeof placed === 'string') pendingMessage = placed;
      else current = placed;
    }
    if (!current.metadata.finalizers?.includes(finalizer)) {
      const added = await setFinalizer(this.opts.clients, loamResources.localVolumes, current, true);
      if (!added.ok) return added.gone ? undefined : retrySoon;
      current = added.object;
      this.opts.caches.wrote(current);
    }
    signal.throwIfAborted();
    const withData = holdsData(current, this.opts.caches.persistentVolumesOf(name).length > 0);
    if (!withData) await this.createMissingReplicas(current);
    const expandMessage = await this.grow(current);
    await this.recordStatus(current, { pendingMessage, expandMessage, holdsData: withData });
  }

  /** Decides and records the replica nodes; returns the placed volume, or why it waits. */
  private async place(volume: LocalVolume): Promise<LocalVolume | string | 'conflict' | 'gone'> {
    const decision = this.decide(volume);
    if (!decision.result.ok) {
      this.opts.log.info('volume not placed', { volume: volume.metadata.name, reason: decision.result.message });
      await this.opts.events.notPlaced(volume, decision.result.message);
      return decision.result.message;
    }
    const written = await setReplicaNodes(this.opts.clients, volume, decision.result.nodes).catch((err: unknown) => {
      decision.undo();
      throw err;
    });
    if (!written.ok) {
      decision.undo();
      return written.gone ? 'gone' : 'conflict';
    }
    this.opts.caches.wrote(written.object);
    const poolName = vgNameOfClass(volume.spec.poolClass);
    this.opts.log.info('volume placed', { volume: volume.metadata.name, nodes: decision.result.nodes, pool: poolName });
    // Best effort, as events are; placement does not wait for it.
    void this.opts.events.placed(written.object, decision.result.nodes, poolName);
    return written.object;
  }

  /** Chooses nodes and promises their bytes in the ledger, synchronously: see the file comment. */
  private decide(volume: LocalVolume): { result: PlacementResult; undo: () => void } {
    const { spec } = volume;
    const result = choosePlacement({
      volumeName: volume.metadata.name!, poolClass: spec.poolClass, capacityBytes: spec.capacityBytes, replicaCount: spec.replicaCount,
      requiredNodes: spec.accessibility?.requiredNodes, preferredNodes: spec.accessibility?.preferredNodes,
    }, ...this.candidates(spec.poolClass));
    if (!result.ok) return { result, undo: () => undefined };
    const poolName = vgNameOfClass(spec.poolClass);
    const undos = result.nodes.map((nodeName) => this.opts.ledger.promise({
      replicaName: localVolumeReplicaName(volume.metadata.name!, nodeName), volumeName: volume.metadata.name!, nodeName, poolName, capacityBytes: spec.capacityBytes,
    }));
    return { result, undo: () => undos.forEach((u) => u()) };
  }

  /** The candidate pools, and the nodes refused for their liveness (named when nothing fits). */
  private candidates(poolClass: MediaClass): [PoolCandidate[], RefusedNode[]] {
    const gone = this.opts.caches.goneNodes();
    const nodes = this.opts.caches.storageNodes().map((lsn) => lsn.spec?.nodeName ?? lsn.metadata.name!).filter((node) => !gone.has(node));
    const { candidates, refused } = placementCandidates(nodes, poolClass, this.opts.caches, this.opts.ledger);
    return [candidates, refused];
  }

  /** Creates the replica of every placed node that has none (after a crash, or a replica deleted by hand). */
  private async createMissingReplicas(volume: LocalVolume): Promise<void> {
    const existing = new Set(this.opts.caches.replicasOf(volume.metadata.name!).map((r) => r.spec.nodeName));
    const gone = this.opts.caches.goneNodes();
    const poolName = vgNameOfClass(volume.spec.poolClass);
    for (const node of volume.spec.replicaNodes ?? []) {
      if (existing.has(node) || gone.has(node)) continue;
      const outcome = await createReplica(this.opts.clients, replicaFor(volume, node, poolName));
      if (outcome === 'created') this.opts.log.info('replica created', { volume: volume.metadata.name, node });
    }
  }

  /**
   * Raises each replica smaller than the volume, if its pool has room for the difference (counted
   * with the ledger, as placement counts); returns why it cannot, naming the pool and its free bytes.
   */
  private async grow(volume: LocalVolume): Promise<string | undefined> {
    const target = volume.spec.capacityBytes;
    const short = this.opts.caches.replicasOf(volume.metadata.name!).filter((r) => !r.metadata.deletionTimestamp && r.spec.capacityBytes < target);
    if (short.length === 0) return undefined;
    const blocked: string[] = [];
    const grown: string[] = [];
    for (const replica of short) {
      // The replica exists: growing it needs its bytes, not a fresh heartbeat (node-liveness.ts is for new volumes).
      const room = poolRoom(replica.spec.nodeName, volume.spec.poolClass, this.opts.caches, { ledger: this.opts.ledger, forNewVolumes: false });
      const needed = target - replica.spec.capacityBytes;
      if (!room.ok || room.availableBytes < needed) {
        const free = room.ok ? `has ${formatCapacity(Math.max(0, room.availableBytes))} free` : 'is not Ready';
        blocked.push(`cannot grow to ${formatCapacity(target)}: pool ${replica.spec.poolName} on ${replica.spec.nodeName} ${free}, ${formatCapacity(needed)} more is needed`);
        continue;
      }
      const undo = this.opts.ledger.promise({ replicaName: replica.metadata.name!, volumeName: volume.metadata.name!, nodeName: replica.spec.nodeName, poolName: replica.spec.poolName, capacityBytes: target });
      try {
        if (await growReplica(this.opts.clients, replica.metadata.name!, target)) grown.push(replica.metadata.name!);
        else undo();
      } catch (err) {
        undo();
        throw err;
      }
    }
    if (grown.length > 0) await this.opts.events.growing(volume, grown, formatCapacity(target));
    if (blocked.length === 0) return undefined;
    const message = blocked.join('; ');
    await this.opts.events.expandBlocked(volume, message);
    return message;
  }

  private async recordStatus(volume: LocalVolume, extra: Pick<VolumeStatusInput, 'pendingMessage' | 'expandMessage' | 'holdsData' | 'deletionHeld'> = {}): Promise<void> {
    const gone = this.opts.caches.goneNodes();
    const status = volumeStatus({ volume, replicas: this.opts.caches.replicasOf(volume.metadata.name!), goneNodes: gone, ...extra, now: this.now() });
    const reason = status.conditions?.find((c) => c.type === 'Ready')?.reason;
    if (reason === 'ReplicaGone') {
      this.opts.log.warn('a replica of a volume that held data is gone; not making it again', { volume: volume.metadata.name, statusMessage: status.message });
      await this.opts.events.replicaGone(volume, status.message!);
    } else if (reason === 'ReplicaDeletionHeld') {
      await this.opts.events.replicaDeletionHeld(volume, status.message!);
    } else if (reason === 'DeletionHeld') {
      await this.opts.events.deletionHeld(volume, status.message!);
    } else if ((status.state === 'Failed' || status.state === 'Degraded') && (volume.spec.replicaNodes ?? []).some((n) => gone.has(n))) {
      await this.opts.events.replicaLost(volume, status.message!);
    }
    if (sameVolumeStatus(volume.status, status)) return;
    const written = await writeVolumeStatus(this.opts.clients, volume.metadata.name!, { ...status });
    if (written) this.opts.caches.wrote(written);
    this.opts.log.debug('volume status', { volume: volume.metadata.name, state: status.state, statusMessage: status.message });
  }

  private async reportInvalid(volume: LocalVolume, problems: string[]): Promise<void> {
    const message = `invalid volume, skipped until it is fixed: ${problems.join('; ')}`;
    this.opts.log.warn('invalid volume skipped', { volume: volume.metadata.name, problems });
    await this.opts.events.invalid(volume, problems);
    if (volume.status?.message === message) return;
    await writeVolumeStatus(this.opts.clients, volume.metadata.name!, { state: volume.status?.state ?? 'Pending', message });
  }

  /**
   * The volume is being deleted: unless a PersistentVolume still uses it (then nothing is touched
   * and the status says why; a change of that PV wakes this volume again), delete its replicas,
   * wait until they are gone (each node agent removes its LV, then the replica's finalizer), then
   * let the volume go.
   */
  private async finalize(volume: LocalVolume, signal: AbortSignal): Promise<ReconcileResult | void> {
    if (!volume.metadata.finalizers?.includes(finalizer)) return;
    const held = deletionHeldBy(this.opts.caches.persistentVolumesOf(volume.metadata.name!));
    if (held) {
      this.opts.log.info('volume deletion held: a PersistentVolume still uses it', { volume: volume.metadata.name, why: held });
      await this.recordStatus(volume, { deletionHeld: held });
      return;
    }
    const cached = this.opts.caches.replicasOf(volume.metadata.name!);
    await this.deleteReplicas(cached, signal);
    await this.recordStatus(volume);
    if (cached.length > 0) return waitForAgents;
    // The cache may not show a replica created a moment ago: only the server can say none is left.
    const live = await listReplicasOf(this.opts.clients, volume.metadata.name!);
    if (live.length > 0) {
      await this.deleteReplicas(live, signal);
      return { requeueAfterMs: 1000 };
    }
    const removed = await setFinalizer(this.opts.clients, loamResources.localVolumes, volume, false);
    if (!removed.ok) return removed.conflict ? retrySoon : undefined;
    this.opts.ledger.forgetVolume(volume.metadata.name!);
    this.opts.events.forget(volume.metadata.uid);
    this.opts.log.info('volume deleted; its replicas are gone', { volume: volume.metadata.name });
  }

  /** Replicas whose volume no longer exists (deleted without its finalizer) are deleted too. */
  private async deleteLeftovers(name: string): Promise<ReconcileResult | void> {
    this.opts.ledger.forgetVolume(name);
    const cached = this.opts.caches.replicasOf(name).filter((r) => !r.metadata.deletionTimestamp);
    if (cached.length === 0) return;
    // The cache may lag behind a volume just created; only a volume the server does not have is gone.
    if (await readVolume(this.opts.clients, name)) return { requeueAfterMs: 1000 };
    this.opts.log.info('deleting replicas of a volume that no longer exists', { volume: name, replicas: cached.map((r) => r.metadata.name) });
    await this.deleteReplicas(cached, new AbortController().signal);
  }

  private async deleteReplicas(replicas: readonly LocalVolumeReplica[], signal: AbortSignal): Promise<void> {
    for (const replica of replicas) {
      signal.throwIfAborted();
      if (!replica.metadata.deletionTimestamp) await deleteObject(this.opts.clients, loamResources.localVolumeReplicas, replica.metadata.name!);
    }
  }
}
