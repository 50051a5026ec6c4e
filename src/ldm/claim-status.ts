/**
 * The status a claim binder writes: phase, bound disks, total capacity, message, and a `Bound`
 * condition (so `kubectl wait --for=condition=Bound ldc/<name>` works). Pure; the clock is passed in.
 */
import { formatCapacity, type Condition, type LocalDisk, type LocalDiskClaim, type LocalDiskClaimStatus } from '../api/index.js';

export function claimStatus(claim: LocalDiskClaim, bound: readonly LocalDisk[], message: string, now: Date): LocalDiskClaimStatus {
  const isBound = bound.length > 0;
  const previous = claim.status?.conditions?.find((c) => c.type === 'Bound');
  const status: Condition['status'] = isBound ? 'True' : 'False';
  const condition: Condition = {
    type: 'Bound',
    status,
    reason: isBound ? 'DisksBound' : 'NoMatchingDisk',
    message,
    // The transition time moves only when the condition's status does.
    lastTransitionTime: previous?.status === status ? previous.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, 'Z'),
    ...(claim.metadata.generation !== undefined ? { observedGeneration: claim.metadata.generation } : {}),
  };
  return {
    phase: isBound ? 'Bound' : 'Pending',
    boundDisks: bound.map((d) => d.metadata.name!).sort(),
    capacity: formatCapacity(bound.reduce((sum, d) => sum + d.spec.capacityBytes, 0)),
    message,
    conditions: [...(claim.status?.conditions ?? []).filter((c) => c.type !== 'Bound'), condition],
  };
}

/** True when writing `next` would change nothing a user sees (so a steady claim costs no writes). */
export function sameClaimStatus(current: LocalDiskClaimStatus | undefined, next: LocalDiskClaimStatus): boolean {
  const cond = (s: LocalDiskClaimStatus | undefined): string => JSON.stringify((s?.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration]));
  return current?.phase === next.phase && current?.message === next.message && current?.capacity === next.capacity
    && JSON.stringify(current?.boundDisks ?? []) === JSON.stringify(next.boundDisks ?? []) && cond(current) === cond(next);
}
