/**
 * What the node agent does next for one LocalVolumeReplica, decided from its spec and what `lvs`
 * says about the LV of the same name. Pure, so every branch is tested without LVM.
 *
 * The LV is named by the volume (spec.volumeName) in the VG named by spec.poolName. An LV of that
 * name without the `loam.io` tag belongs to someone else: it is reported, never touched.
 */
import { finalizer, type LocalVolumeReplica } from '../api/index.js';
import { loamTag, type LvReport } from './lvm.js';

export type ReplicaAction =
  /** No LV yet: lvcreate. */
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
  /** Deleting, and our LV is still there: lvremove. */
  | { kind: 'remove'; lv: LvReport }
  /** Deleting, and no LV of ours is left (a foreign one stays untouched): drop the finalizer. */
  | { kind: 'release'; foreign?: LvReport };

export function isLoamLv(lv: LvReport): boolean {
  return lv.tags.includes(loamTag);
}

export function planReplica(replica: LocalVolumeReplica, lv: LvReport | undefined): ReplicaAction {
  if (replica.metadata.deletionTimestamp) {
    if (!lv) return { kind: 'release' };
    return isLoamLv(lv) ? { kind: 'remove', lv } : { kind: 'release', foreign: lv };
  }
  if (!lv) return replica.status?.allocatedBytes === undefined ? { kind: 'create' } : { kind: 'missing' };
  if (!isLoamLv(lv)) return { kind: 'foreign', lv };
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
