/**
 * The LocalStorageNode status from what LVM reports (pure): one pool per Loam VG (named
 * loam-hdd/ssd/nvme and tagged loam.io; any other VG is not Loam's and not reported), its sizes
 * from `vgs`, its LocalDisks from `pvs`, its volume count from the Loam-tagged LVs of `lvs`.
 */
import { formatCapacity, mediaClasses, type Condition, type LocalStorageNodeState, type StoragePool } from '../api/index.js';
import { classOfVgName, loamTag, type LvReport, type PvReport, type VgReport } from './lvm.js';
import { isLoamVg } from './pool-plan.js';
import type { PoolProblem } from './pool-manager.js';

export interface LvmSnapshot {
  vgs: VgReport[];
  pvs: PvReport[];
  lvs: LvReport[];
}

/** An LV the ReplicaReconciler created, grew or removed: `lv` as it is now, or `removed`. */
export type LvChange = { lv: LvReport; previousBytes: number } | { removed: LvReport };

/**
 * The snapshot after an LV change, by arithmetic: a linear LV takes exactly its (extent-rounded)
 * size from its VG's free space and gives it back when removed. A snapshot without the VG is
 * returned as it is (the caller reads LVM instead).
 */
export function applyLvChange(snapshot: LvmSnapshot, change: LvChange): LvmSnapshot {
  const lv = 'removed' in change ? change.removed : change.lv;
  const vg = snapshot.vgs.find((v) => v.name === lv.vgName);
  if (!vg) return snapshot;
  const grownBy = 'removed' in change ? -change.removed.sizeBytes : change.lv.sizeBytes - change.previousBytes;
  const others = snapshot.lvs.filter((l) => !(l.vgName === lv.vgName && l.name === lv.name));
  const lvs = 'removed' in change ? others : [...others, change.lv];
  return {
    ...snapshot,
    vgs: snapshot.vgs.map((v) => (v === vg ? { ...v, freeBytes: Math.max(0, v.freeBytes - grownBy), lvCount: lvs.filter((l) => l.vgName === v.name).length } : v)),
    lvs,
  };
}

export interface StorageNodeInput {
  /** What LVM reported; undefined when a report failed (then `lvmError` says why). */
  lvm?: LvmSnapshot;
  lvmError?: string;
  /** LocalDisk name of a PV, by its pvs row (undefined when the PV is not a known disk of the node). */
  diskOfPv: (pv: PvReport) => string | undefined;
  /** Loam VGs whose activation failed, with LVM's line. */
  activationFailures: Map<string, string>;
  problems: PoolProblem[];
}

export interface StorageNodeReport {
  state: LocalStorageNodeState;
  pools: StoragePool[];
  poolClasses: string;
  free: string;
  /** Why NotReady, or which disks could not be pooled; undefined when there is nothing to say. */
  message?: string;
  /** Conditions without lastTransitionTime (the reporter keeps it across writes). */
  conditions: Array<Omit<Condition, 'lastTransitionTime'>>;
}

const maxMessage = 1500;

/**
 * One pool per Loam VG. A VG with a missing PV is `Degraded`: the missing disks are named (by the
 * PV UUID each LocalDisk recorded), and its free space is 0, because LVM allocates nothing in a VG
 * while a PV is missing, so placement must not send new volumes there.
 */
export function buildPools(snapshot: LvmSnapshot, diskOfPv: (pv: PvReport) => string | undefined): StoragePool[] {
  const order = (vg: VgReport): number => mediaClasses.indexOf(classOfVgName(vg.name)!);
  return snapshot.vgs
    .filter(isLoamVg)
    .sort((a, b) => order(a) - order(b))
    .map((vg) => {
      const missing = snapshot.pvs.filter((pv) => pv.vgName === vg.name && pv.missing).map((pv) => diskOfPv(pv) ?? `pv ${pv.uuid}`).sort();
      const degraded = missing.length > 0 || (vg.missingPvCount ?? 0) > 0;
      const freeBytes = degraded ? 0 : vg.freeBytes;
      return {
        name: vg.name,
        mediaClass: classOfVgName(vg.name)!,
        vgName: vg.name,
        totalBytes: vg.sizeBytes,
        freeBytes,
        volumeCount: snapshot.lvs.filter((lv) => lv.vgName === vg.name && lv.tags.includes(loamTag)).length,
        disks: [...new Set(snapshot.pvs.filter((pv) => pv.vgName === vg.name).map(diskOfPv).filter((d): d is string => d !== undefined))].sort(),
        total: formatCapacity(vg.sizeBytes),
        free: formatCapacity(freeBytes),
        state: degraded ? 'Degraded' : 'Ready',
        ...(degraded ? {
          missingDisks: missing,
          message: truncate(`${missing.length > 0 ? missing.join(', ') : `${vg.missingPvCount} physical volume(s)`} missing: volumes wholly on the other disks keep working; `
            + `nothing new is allocated in ${vg.name} until the disk returns, or is given up with vgreduce --removemissing ${vg.name} (which loses the volumes on it)`),
        } : {}),
      };
    });
}

export function buildStorageNodeReport(input: StorageNodeInput): StorageNodeReport {
  const pools = input.lvm ? buildPools(input.lvm, input.diskOfPv) : [];
  const notReady = input.lvm === undefined
    ? `cannot read the volume groups: ${input.lvmError ?? 'unknown error'}`
    : [...input.activationFailures].map(([vg, line]) => vg === '*' ? `cannot list volume groups to activate them: ${line}` : `volume group ${vg} cannot be activated: ${line}`).join('; ') || undefined;
  const problemText = input.problems.map((p) => `${p.disk} (${p.device}): ${p.message}`).join('; ');
  const degradedText = pools.filter((p) => p.state === 'Degraded').map((p) => `pool ${p.name} is Degraded: ${p.message ?? ''}`).join('; ');
  const message = [notReady, degradedText || undefined, problemText ? `disks not pooled: ${problemText}` : undefined].filter((m) => m).join('; ');
  const conditions: StorageNodeReport['conditions'] = [
    notReady
      ? { type: 'Ready', status: 'False', reason: input.lvm ? 'ActivationFailed' : 'LvmFailed', message: truncate(notReady) }
      : { type: 'Ready', status: 'True', reason: 'AgentRunning', message: `loam-node reports ${pools.length} pool${pools.length === 1 ? '' : 's'}` },
    problemText
      ? { type: 'DisksPooled', status: 'False', reason: 'DisksNotPooled', message: truncate(`${input.problems.length} claimed disk(s) not pooled: ${problemText}`) }
      : { type: 'DisksPooled', status: 'True', reason: 'AllPooled', message: 'every disk claimed for local-storage is in its pool' },
    degradedText
      ? { type: 'PoolsComplete', status: 'False', reason: 'PhysicalVolumeMissing', message: truncate(degradedText) }
      : { type: 'PoolsComplete', status: 'True', reason: 'AllPresent', message: 'every physical volume of every pool is present' },
  ];
  return {
    state: notReady ? 'NotReady' : 'Ready',
    pools,
    poolClasses: pools.map((p) => p.mediaClass).join(','),
    free: formatCapacity(pools.reduce((sum, p) => sum + (p.freeBytes ?? 0), 0)),
    message: message ? truncate(message) : undefined,
    conditions,
  };
}

function truncate(text: string): string {
  return text.length <= maxMessage ? text : `${text.slice(0, maxMessage - 3)}...`;
}
