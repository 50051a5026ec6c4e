/**
 * LVs that Loam made but no replica owns any more, pure. An LV tagged `loam.io` in a Loam VG is
 * owned when a replica of this node names it (spec.poolName/spec.volumeName) and it is that
 * replica's by the rule of replica-plan.ts (its UID tag, or no UID and the replica reported it).
 * The others are what a replica dropped with its node, a replica whose finalizer was stripped by
 * hand, or an earlier tenant of a volume name left behind. Loam never removes them: the node agent
 * lists them in LocalStorageNode status.unownedVolumes, with an event, for a person to decide.
 */
import type { LocalVolumeReplica, UnownedVolume } from '../api/index.js';
import { classOfVgName, replicaUidOf, type LvReport } from './lvm.js';
import { isLoamLv, lvOwnership } from './replica-plan.js';

/** The Loam LVs in `lvs` that none of `replicas` (this node's) owns, sorted by VG and name. */
export function unownedLvs(lvs: readonly LvReport[], replicas: readonly LocalVolumeReplica[]): UnownedVolume[] {
  const byLv = new Map<string, LocalVolumeReplica[]>();
  for (const r of replicas) {
    const key = `${r.spec?.poolName}/${r.spec?.volumeName}`;
    byLv.set(key, [...(byLv.get(key) ?? []), r]);
  }
  return lvs
    .filter((lv) => classOfVgName(lv.vgName) !== undefined && isLoamLv(lv))
    .filter((lv) => !(byLv.get(`${lv.vgName}/${lv.name}`) ?? []).some((r) => lvOwnership(r, lv) !== 'other'))
    .map((lv) => {
      const uid = replicaUidOf(lv);
      return { vgName: lv.vgName, lvName: lv.name, sizeBytes: lv.sizeBytes, ...(uid ? { replicaUid: uid } : {}) };
    })
    .sort((a, b) => (a.vgName === b.vgName ? a.lvName.localeCompare(b.lvName) : a.vgName.localeCompare(b.vgName)));
}
