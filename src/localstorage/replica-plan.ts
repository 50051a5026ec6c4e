/**
 * What the node agent does next for one LocalVolumeReplica, decided from its spec and what `lvs`
 * says about the LV of the same name. Pure, so every branch is tested without LVM.
 *
 * The LV is named by the volume (spec.volumeName) in the VG named by spec.poolName. Whose it is
 * comes from LVM's own tags, never from the name:
 * - no `loam.io` tag: someone else's; reported, never touched;
 * - `loam.io/replica-uid=<this replica's metadata.uid>`: this replica's;
 * - another replica's UID: a former tenant's (a volume re-created under an old name, a replica
 *   dropped with its node); never adopted, grown or removed: the replica is Failed and the LV is
 *   reported as unowned on the LocalStorageNode;
 * - `loam.io` without a UID (made before the tag existed): this replica's only if its own status
 *   already reported that LV (size and path); then it is tagged once (lvchange), after which the
 *   UID decides. A replica that never reported it cannot tell whose it is, and leaves it alone.
 *
 * Deletion removes the LV only when the volume no longer wants it (the caller finds out: the
 * LocalVolume is gone, being deleted, or no longer places a replica on this node). A replica
 * deleted by hand (`kubectl delete lvr`) while its volume still wants it is held: the LV and the
 * finalizer stay, so the data is never lost, and go when the volume itself is deleted.
 */
import { finalizer, type LocalVolumeReplica } from '../api/index.js';
import { loamTag, replicaUidOf, type LvReport } from './lvm.js';

export type ReplicaAction =
  /** No LV yet: lvcreate (tagged with this replica's UID). */
  | { kind: 'create' }
  /**
   * The LV this replica reported is gone (removed behind Loam's back, or its disk is missing).
   * Never made again empty: a workload would start on an empty disk without noticing.
   */
  | { kind: 'missing' }
  /** The LV is smaller than spec.capacityBytes: lvextend. */
  | { kind: 'extend'; lv: LvReport }
  /** The LV exists at the right size but is inactive (after a reboot): activate its VG. */
  | { kind: 'activate'; lv: LvReport }
  /** Nothing to do on disk; report the LV in status. */
  | { kind: 'report'; lv: LvReport }
  /** An LV of this name exists that Loam did not make: leave it alone, mark the replica Failed. */
  | { kind: 'foreign'; lv: LvReport }
  /** A Loam LV of this name that is not this replica's (another UID, or no UID and never reported): leave it alone, Failed. */
  | { kind: 'taken'; lv: LvReport }
  /** This replica's LV from before the UID tag (its status reported it): add the tag, then plan again. */
  | { kind: 'tag'; lv: LvReport }
  /** Deleting, and the LV is this replica's: lvremove. */
  | { kind: 'remove'; lv: LvReport }
  /** Deleted by hand while the volume still wants it: keep the LV and the finalizer. */
  | { kind: 'hold'; lv: LvReport }
  /** Deleting, and no LV of this replica's is left (another's or a foreign one stays untouched): drop the finalizer. */
  | { kind: 'release'; foreign?: LvReport; kept?: LvReport };

export interface PlanContext {
  /**
   * Deleting only: the replica's LocalVolume exists, is not being deleted and still places a replica
   * on this node. Unknown (undefined) counts as not: the caller asks before it removes anything.
   */
  volumeWantsIt?: boolean;
}

export function isLoamLv(lv: LvReport): boolean {
  return lv.tags.includes(loamTag);
}

/** Whose a Loam LV of the replica's name is: see the module comment. */
export function lvOwnership(replica: LocalVolumeReplica, lv: LvReport): 'mine' | 'untagged-mine' | 'other' {
  const uid = replicaUidOf(lv);
  if (uid !== undefined) return uid === replica.metadata.uid ? 'mine' : 'other';
  const reported = replica.status;
  return reported?.allocatedBytes !== undefined && reported.devicePath === lv.path ? 'untagged-mine' : 'other';
}

export function planReplica(replica: LocalVolumeReplica, lv: LvReport | undefined, context: PlanContext = {}): ReplicaAction {
  if (replica.metadata.deletionTimestamp) {
    if (!lv) return { kind: 'release' };
    if (!isLoamLv(lv)) return { kind: 'release', foreign: lv };
    if (lvOwnership(replica, lv) === 'other') return { kind: 'release', kept: lv };
    return context.volumeWantsIt ? { kind: 'hold', lv } : { kind: 'remove', lv };
  }
  if (!lv) return replica.status?.allocatedBytes === undefined ? { kind: 'create' } : { kind: 'missing' };
  if (!isLoamLv(lv)) return { kind: 'foreign', lv };
  const owner = lvOwnership(replica, lv);
  if (owner === 'other') return { kind: 'taken', lv };
  if (owner === 'untagged-mine') return { kind: 'tag', lv };
  // LVM rounds sizes up to whole extents, so a larger LV is the right size.
  if (lv.sizeBytes < replica.spec.capacityBytes) return { kind: 'extend', lv };
  if (!lv.active) return { kind: 'activate', lv };
  return { kind: 'report', lv };
}

/**
 * Whether an informer update needs a reconcile. Status writes (our own, mostly) do not: they change
 * neither spec (generation), deletion, finalizers nor labels. The periodic resync still reconciles
 * everything, so an LV changed behind our back is seen within one resync.
 */
export function needsReconcile(obj: LocalVolumeReplica, old: LocalVolumeReplica): boolean {
  const m = obj.metadata;
  const o = old.metadata;
  return m.generation !== o.generation
    || m.deletionTimestamp !== o.deletionTimestamp
    || JSON.stringify(m.finalizers ?? []) !== JSON.stringify(o.finalizers ?? [])
    || JSON.stringify(m.labels ?? {}) !== JSON.stringify(o.labels ?? {});
}

/**
 * Whether a replica needs nothing, judged from one `lvs` of the whole node: it is Ready, keeps its
 * finalizer, and its LV is there as its status says (tagged, active, big enough, same path and
 * size). The periodic pass reconciles only the others, so a node with many volumes costs one LVM
 * command a minute, not one per volume.
 */
export function inStep(replica: LocalVolumeReplica, lv: LvReport | undefined): boolean {
  const status = replica.status;
  if (replica.metadata.deletionTimestamp || status?.state !== 'Ready' || !lv) return false;
  if (!replica.metadata.finalizers?.includes(finalizer)) return false;
  return planReplica(replica, lv).kind === 'report' && status.allocatedBytes === lv.sizeBytes && status.devicePath === lv.path;
}
