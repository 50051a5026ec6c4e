/**
 * Which disks of a node a LocalDiskClaim gets, and why every other disk of that node is not taken.
 * Pure: no I/O, no clock. The binder (claim-binder.ts) feeds it the current LocalDisks and acts on
 * the verdicts; the reasons become the claim's status message and one event per disk not chosen.
 */
import { formatCapacity, type LocalDisk, type LocalDiskClaim } from '../api/index.js';

/** A disk of the claim's node that the claim does not get, and why, in words for a person. */
export interface DiskRejection {
  disk: LocalDisk;
  /** E.g. `is Claimed by claim other`, `is 50Gi, below the minimum 100Gi`. */
  reason: string;
  /** True when the disk matches the description and only the claim's count left it out. */
  countOnly: boolean;
}

export interface ClaimMatch {
  /** Disks already bound to this claim (same claim uid), kept whatever they look like now. */
  bound: LocalDisk[];
  /** Disks to bind now, in order, at most what the count leaves room for. */
  chosen: LocalDisk[];
  /** Every other disk of the node, with the reason it is not taken. */
  rejected: DiskRejection[];
}

/** True when `disk` is bound to `claim` (by uid, so a recreated claim of the same name does not inherit it). */
export function isBoundTo(disk: LocalDisk, claim: LocalDiskClaim): boolean {
  return disk.spec.claimRef?.uid !== undefined && disk.spec.claimRef.uid === claim.metadata.uid;
}

/** Why `disk` cannot be taken by any claim right now, or undefined if it is free to bind. */
export function unavailableReason(disk: LocalDisk): string | undefined {
  const ref = disk.spec.claimRef;
  if (ref) return `is Claimed by claim ${ref.name}`;
  if (disk.spec.reserved === true) return 'is reserved by an admin (spec.reserved: true)';
  const state = disk.status?.state;
  if (state === undefined) return 'has no state yet (loam-node has not reported it)';
  if (state !== 'Available') return `is ${state}${disk.status?.reason ? `: ${disk.status.reason}` : ''}`;
  return undefined;
}

/** Why `disk` does not fit the claim's description, or undefined when it fits. */
export function mismatchReason(disk: LocalDisk, claim: LocalDiskClaim): string | undefined {
  const d = claim.spec.description ?? {};
  const size = formatCapacity(disk.spec.capacityBytes);
  if (d.mediaClass !== undefined && disk.spec.mediaClass !== d.mediaClass) return `is ${disk.spec.mediaClass}, not ${d.mediaClass}`;
  if (d.minCapacityBytes !== undefined && disk.spec.capacityBytes < d.minCapacityBytes) {
    return `is ${size}, below the minimum ${formatCapacity(d.minCapacityBytes)}`;
  }
  if (d.maxCapacityBytes !== undefined && disk.spec.capacityBytes > d.maxCapacityBytes) {
    return `is ${size}, above the maximum ${formatCapacity(d.maxCapacityBytes)}`;
  }
  if (d.devicePaths !== undefined && d.devicePaths.length > 0 && !d.devicePaths.some((p) => diskPaths(disk).includes(p))) {
    return `is ${disk.spec.devicePath}, not one of ${d.devicePaths.join(', ')}`;
  }
  return undefined;
}

/** The paths a claim may name a disk by: its current device path and its stable links. */
function diskPaths(disk: LocalDisk): string[] {
  const id = disk.spec.identity;
  return [disk.spec.devicePath, id?.byIdPath, id?.byPath].filter((p): p is string => typeof p === 'string' && p !== '');
}

/** Stable order of candidates: by device path as the kernel numbers them (sdz before sdaa, loop2 before loop10), then by name. */
function byDevicePath(a: LocalDisk, b: LocalDisk): number {
  const [pa, pb] = [a.spec.devicePath, b.spec.devicePath];
  return pa.length - pb.length || pa.localeCompare(pb, 'en', { numeric: true }) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}

export interface MatchOptions {
  /**
   * The claim has no count and is already Bound: it took every matching disk when it bound, and
   * disks that appear later are not handed to it silently (create another claim for them).
   */
  closed?: boolean;
}

const closedReason = 'matches, but the claim has no count and was already Bound with the disks that matched then; create another claim for this disk';

/**
 * Decides, for every disk of the claim's node, whether the claim keeps it (already bound), takes
 * it now, or leaves it (with the reason). Disks of other nodes are ignored. The count caps bound
 * plus chosen; without a count every matching disk is chosen.
 */
export function matchClaim(claim: LocalDiskClaim, disks: readonly LocalDisk[], opts: MatchOptions = {}): ClaimMatch {
  const node = claim.spec.nodeName;
  const own = disks.filter((d) => d.spec.nodeName === node).sort(byDevicePath);
  const bound = own.filter((d) => isBoundTo(d, claim));
  const rejected: DiskRejection[] = [];
  const fitting: LocalDisk[] = [];
  for (const disk of own) {
    if (isBoundTo(disk, claim)) continue;
    const reason = unavailableReason(disk) ?? mismatchReason(disk, claim);
    if (reason) rejected.push({ disk, reason, countOnly: false });
    else fitting.push(disk);
  }
  const count = claim.spec.description?.count;
  if (count === undefined && opts.closed) {
    for (const disk of fitting) rejected.push({ disk, reason: closedReason, countOnly: true });
    return { bound, chosen: [], rejected };
  }
  const room = count === undefined ? fitting.length : Math.max(0, count - bound.length);
  const chosen = fitting.slice(0, room);
  for (const disk of fitting.slice(room)) {
    rejected.push({ disk, reason: `matches, but the claim asks for ${count} disk${count === 1 ? '' : 's'} and has enough`, countOnly: true });
  }
  return { bound, chosen, rejected };
}

/** `SSD disk of at least 100Gi and at most 1Ti, at /dev/sdb or /dev/sdc`: the description in words. */
export function describeWanted(claim: LocalDiskClaim): string {
  const d = claim.spec.description ?? {};
  const parts = [`${d.mediaClass ? `${d.mediaClass} ` : ''}disk`];
  const sizes = [];
  if (d.minCapacityBytes !== undefined) sizes.push(`at least ${formatCapacity(d.minCapacityBytes)}`);
  if (d.maxCapacityBytes !== undefined) sizes.push(`at most ${formatCapacity(d.maxCapacityBytes)}`);
  if (sizes.length) parts.push(`of ${sizes.join(' and ')}`);
  if (d.devicePaths?.length) parts.push(`at ${d.devicePaths.join(' or ')}`);
  return parts.join(' ');
}

/**
 * The claim's status message for a match: what is bound, and, when it is short of what it asks
 * for, why each disk was not taken and what to do.
 */
export function claimMessage(claim: LocalDiskClaim, boundCount: number, rejected: readonly DiskRejection[], knownDisks: number): string {
  const node = claim.spec.nodeName;
  const count = claim.spec.description?.count;
  if (knownDisks === 0) {
    return `no LocalDisk of node ${node} is known: check spec.nodeName (is there a node ${node}?) and that loam-node runs on it; the claim is re-evaluated as disks appear`;
  }
  const why = joinLimited(rejected.filter((r) => !r.countOnly).map((r) => `${r.disk.metadata.name} (${r.disk.spec.devicePath}) ${r.reason}`), claim.metadata.name ?? '');
  if (boundCount === 0) {
    return `no Available ${describeWanted(claim)} on node ${node}: ${why || 'no disk matches'}. `
      + 'Free or add a disk that matches, or relax spec.description; the claim is re-evaluated as disks appear';
  }
  const bound = `${boundCount} disk${boundCount === 1 ? '' : 's'} bound`;
  if (count !== undefined && boundCount < count) {
    return `${bound} of ${count} asked for; waiting for ${count - boundCount} more Available ${describeWanted(claim)} on node ${node}${why ? `: ${why}` : ''}`;
  }
  return bound;
}

/** Joins reasons with `; ` but stops near `limit` characters, so a node with hundreds of disks still fits in status.message. */
export function joinLimited(parts: readonly string[], claimName: string, limit = 1500): string {
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const next = out ? `${out}; ${parts[i]}` : parts[i]!;
    if (next.length > limit) {
      const rest = parts.length - i;
      return `${out ? `${out}; ` : ''}and ${rest} more disk${rest === 1 ? '' : 's'} (each has an event: kubectl describe ldc ${claimName})`;
    }
    out = next;
  }
  return out;
}
