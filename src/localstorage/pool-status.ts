/**
 * What the PoolManager writes into a LocalDisk's status (pure): `state: InUse` once the disk is a
 * PV of a Loam pool, and its own condition `Pooled` (True, or False with why). loam-node's
 * publisher owns the other fields and the Present/Safe conditions; the Pooled condition is merged
 * into the list the object has, the others are kept as they are.
 */
import type { Condition, LocalDisk } from '../api/index.js';
import type { PoolRefusal } from './pool-plan.js';

export const pooledCondition = 'Pooled';

export type PooledReason = 'InPool' | PoolRefusal | 'LvmFailed';

export interface PooledState {
  status: 'True' | 'False';
  reason: PooledReason;
  message: string;
}

export function inPool(vgName: string, device: string): PooledState {
  return { status: 'True', reason: 'InPool', message: `physical volume ${device} of volume group ${vgName}` };
}

/** The condition list with Pooled set to `want`; the transition time moves only when its status does. */
export function withPooled(conditions: Condition[] | undefined, want: PooledState, now: string): Condition[] {
  const old = conditions?.find((c) => c.type === pooledCondition);
  const cond: Condition = {
    type: pooledCondition,
    status: want.status,
    reason: want.reason,
    message: want.message,
    lastTransitionTime: old && old.status === want.status ? old.lastTransitionTime : now,
  };
  return [...(conditions ?? []).filter((c) => c.type !== pooledCondition), cond];
}

/** True when the disk's Pooled condition already says `want` (no write needed). */
export function pooledMatches(disk: LocalDisk, want: PooledState): boolean {
  const c = disk.status?.conditions?.find((x) => x.type === pooledCondition);
  return c !== undefined && c.status === want.status && c.reason === want.reason && c.message === want.message;
}

/** The status merge patch: the Pooled condition, and for a disk in a pool `state: InUse` (reason cleared). */
export function poolStatusPatch(disk: LocalDisk, want: PooledState, now: Date): Record<string, unknown> {
  const patch: Record<string, unknown> = { conditions: withPooled(disk.status?.conditions, want, now.toISOString()) };
  if (want.status === 'True') {
    patch.state = 'InUse';
    patch.reason = null;
  }
  return patch;
}
