/**
 * What the PoolManager does with one LocalDisk (docs/localstorage.md, "Pools"). Pure: the manager
 * gathers the facts (the disk object, a fresh safety probe of its device, `pvs`, `vgs`) and acts on
 * the answer, so every rule that keeps data safe is unit-tested here.
 *
 * The rules, in order: only disks of this node claimed for `local-storage`; a disk that already is
 * a PV of a Loam VG is only marked InUse (crash after vgextend, restart); a PV in no VG is adopted
 * into its class's VG only when its UUID is the one Loam recorded on the LocalDisk before its
 * pvcreate (crash after pvcreate) — any other bare PV is someone's and is left alone; a PV of any
 * other VG is never touched; an empty disk is pvcreated with a UUID recorded first, and joins the
 * VG of its class, which is created only when it does not exist.
 */
import { localStorageOwner, type LocalDisk } from '../api/index.js';
import { assessSafety, type SafetyVerdict } from '../ldm/safety.js';
import type { SafetyFacts } from '../ldm/probe.js';
import { classOfVgName, loamTag, vgNameOfClass, type PvReport, type VgReport } from './lvm.js';

/** Why a disk is refused; also the reason of the LocalDisk's `Pooled=False` condition. */
export type PoolRefusal = 'NotSafe' | 'ForeignVolumeGroup' | 'ForeignPhysicalVolume' | 'Reserved';

export type PoolAction =
  /** Not ours to pool (another node, not claimed for local-storage): nothing is written. */
  | { kind: 'ignore'; why: string }
  /** The disk is not present now (Offline, or its device is not found): looked at again when it changes. */
  | { kind: 'wait'; why: string }
  /** The disk holds something or sits in a VG Loam did not make: no action, an event and a condition say why. */
  | { kind: 'refuse'; code: PoolRefusal; message: string }
  /**
   * Make the disk a PV of `vgName` (steps still to do, in order), then mark it InUse. With
   * `pvcreate: false` and `vg: 'none'` it already is one and is only marked InUse. `pvUuid`: the
   * UUID of the disk's PV (to create it with, or as it is); `recordPvUuid`: it must first be written
   * to the LocalDisk's status.pvUuid (before pvcreate: Loam's own record that Loam made this PV).
   */
  | { kind: 'pool'; vgName: string; pvcreate: boolean; vg: 'create' | 'extend' | 'none'; pvUuid: string; recordPvUuid: boolean };

/** Cheap first filter, without touching the device or LVM: is this disk a pool candidate of this node? */
export function poolCandidate(disk: LocalDisk, nodeName: string): PoolAction | undefined {
  if (disk.spec.nodeName !== nodeName) return { kind: 'ignore', why: `belongs to node ${disk.spec.nodeName}` };
  if (!disk.spec.claimRef) return { kind: 'ignore', why: 'not claimed' };
  if (disk.spec.owner !== localStorageOwner) return { kind: 'ignore', why: `claimed for ${disk.spec.owner ?? 'no owner'}, not ${localStorageOwner}` };
  if (disk.status?.state === undefined) return { kind: 'wait', why: 'loam-node has not reported the disk yet' };
  if (disk.status.state === 'Offline') return { kind: 'wait', why: 'the disk is Offline' };
  return undefined;
}

export interface PoolPlanInput {
  disk: LocalDisk;
  nodeName: string;
  /** A fresh safety probe of the disk's device; undefined when the device is not found now. */
  facts?: SafetyFacts;
  /** The PV on the disk's device as `pvs` lists it, if it is one. */
  pv?: PvReport;
  vgs: VgReport[];
  /** A new PV UUID, used when the disk needs a pvcreate and the LocalDisk records none yet. */
  freshPvUuid: string;
}

/** A VG Loam made: named loam-hdd/ssd/nvme and tagged loam.io. */
export function isLoamVg(vg: VgReport): boolean {
  return classOfVgName(vg.name) !== undefined && vg.tags.includes(loamTag);
}

export function planPool(input: PoolPlanInput): PoolAction {
  const { disk, pv, vgs } = input;
  const early = poolCandidate(disk, input.nodeName);
  if (early) return early;
  if (!input.facts) return { kind: 'wait', why: `device ${disk.spec.devicePath} of the disk is not found on the node` };
  const target = vgNameOfClass(disk.spec.mediaClass);
  const vgOf = (name: string): VgReport | undefined => vgs.find((v) => v.name === name);

  const recorded = disk.status?.pvUuid;
  // Already in a Loam pool: a fact to report, whatever else holds (and recorded, to name the disk if it goes missing).
  if (pv && pv.vgName !== '') {
    const vg = vgOf(pv.vgName);
    if (vg && isLoamVg(vg)) return { kind: 'pool', vgName: vg.name, pvcreate: false, vg: 'none', pvUuid: pv.uuid, recordPvUuid: recorded !== pv.uuid };
    return foreign(`is a physical volume of volume group ${pv.vgName}, which Loam did not create (it is not loam-hdd/ssd/nvme tagged ${loamTag}); Loam leaves it alone`);
  }
  if (disk.spec.reserved) return { kind: 'refuse', code: 'Reserved', message: 'is reserved by an administrator (spec.reserved); it is not pooled' };

  // A PV in no VG is ours only when it carries the UUID Loam recorded before its pvcreate; anyone
  // else's (made by hand, by another host, over data) is left alone.
  if (pv && pv.uuid !== recorded) {
    return { kind: 'refuse', code: 'ForeignPhysicalVolume', message: `is an LVM physical volume in no volume group that Loam did not make (its UUID ${pv.uuid} is not the one Loam recorded before its pvcreate${recorded ? `, ${recorded}` : ''}); Loam leaves it alone: remove it (pvremove) if its contents are not needed` };
  }
  // Nothing else may be on or using the device. Our own empty PV (crash after pvcreate) is the one
  // signature that is allowed, and only when LVM itself lists it as a PV in no VG.
  const facts = pv && isLvmSignature(input.facts.signature) ? { ...input.facts, signature: undefined } : input.facts;
  const verdict = assessSafety(facts);
  if (!verdict.safe) return { kind: 'refuse', code: 'NotSafe', message: notSafeMessage(verdict) };

  const vg = vgOf(target);
  if (vg && !isLoamVg(vg)) return foreign(`belongs in volume group ${target}, but a volume group of that name exists without the ${loamTag} tag, so Loam did not create it; Loam leaves it alone: rename or remove that volume group`);
  return { kind: 'pool', vgName: target, pvcreate: !pv, vg: vg ? 'extend' : 'create', pvUuid: pv?.uuid ?? recorded ?? input.freshPvUuid, recordPvUuid: !pv && recorded === undefined };
}

/** The refusal message of a disk the safety check calls unsafe. */
export function notSafeMessage(verdict: SafetyVerdict): string {
  return `${verdict.reason ?? 'is not safe to use'}; Loam never writes over data: wipe the disk (wipefs -a) if its contents are not needed`;
}

function isLvmSignature(signature: string | undefined): boolean {
  return signature === 'LVM2_member';
}

function foreign(message: string): PoolAction {
  return { kind: 'refuse', code: 'ForeignVolumeGroup', message };
}
