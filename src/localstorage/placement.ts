/**
 * Placement, pure: where the replicas of a LocalVolume go, given each candidate node's pool of the
 * volume's class and the bytes still available there. No I/O; the VolumePlacer feeds it from its
 * informer caches and its ledger (placement-room.ts computes `availableBytes`).
 *
 * Policy (docs/localstorage.md):
 * - candidates: the required nodes (none = every node) whose LocalStorageNode is Ready, with a fresh
 *   heartbeat, and a pool of the class (nodes refused for their liveness are named in the message
 *   when the volume cannot be placed);
 * - preferred nodes first, in their order: the first is the node the scheduler picked, so if it has
 *   room it is always chosen;
 * - then the candidate with the most available bytes (ties: the lower node name), which spreads
 *   volumes and keeps the largest pools free for large volumes;
 * - two replicas go to two distinct nodes; a volume is placed whole or not at all.
 */
import { formatCapacity, type MediaClass } from '../api/index.js';
import type { RefusedNode } from './placement-room.js';

/** One candidate node's pool of the volume's class. */
export interface PoolCandidate {
  nodeName: string;
  poolName: string;
  /** Free bytes of the pool minus what is promised to replicas whose LVs do not show in it yet; may be negative. */
  availableBytes: number;
}

export interface PlacementRequest {
  volumeName: string;
  poolClass: MediaClass;
  capacityBytes: number;
  replicaCount: number;
  requiredNodes?: readonly string[];
  preferredNodes?: readonly string[];
}

export type PlacementResult =
  | { ok: true; nodes: string[]; poolName: string }
  | { ok: false; message: string };

/**
 * Chooses `replicaCount` distinct nodes with room, or says why none fits, naming the largest
 * available pool and the nodes `refused` for their liveness (which have a pool of the class).
 */
export function choosePlacement(request: PlacementRequest, candidates: readonly PoolCandidate[], refused: readonly RefusedNode[] = []): PlacementResult {
  const required = new Set(request.requiredNodes ?? []);
  const eligible = candidates.filter((c) => required.size === 0 || required.has(c.nodeName));
  const skipped = refused.filter((r) => required.size === 0 || required.has(r.nodeName));
  const result = chooseAmong(request, eligible, required);
  return result.ok || skipped.length === 0 ? result : { ok: false, message: withRefused(request, eligible, skipped, result.message) };
}

function chooseAmong(request: PlacementRequest, eligible: readonly PoolCandidate[], required: ReadonlySet<string>): PlacementResult {
  const need = formatCapacity(request.capacityBytes);
  if (eligible.length === 0) return { ok: false, message: noPoolMessage(request) };
  const fitting = eligible.filter((c) => c.availableBytes >= request.capacityBytes);
  const chosen: PoolCandidate[] = [];
  for (const name of request.preferredNodes ?? []) {
    const c = fitting.find((f) => f.nodeName === name);
    if (c && !chosen.includes(c)) chosen.push(c);
    if (chosen.length === request.replicaCount) break;
  }
  for (const c of [...fitting].sort(byMostAvailable)) {
    if (chosen.length === request.replicaCount) break;
    if (!chosen.includes(c)) chosen.push(c);
  }
  if (chosen.length === request.replicaCount) return { ok: true, nodes: chosen.map((c) => c.nodeName), poolName: chosen[0]!.poolName };
  const largest = [...eligible].sort(byMostAvailable);
  if (request.replicaCount === 2 && fitting.length === 1) {
    const second = largest.find((c) => c !== fitting[0]);
    const next = second ? `; the next largest has ${free(second)} free (${second.nodeName})` : '; there is no other node with such a pool';
    return { ok: false, message: `a 2-replica volume needs ${request.poolClass} pools with room for ${need} on two nodes: only ${fitting[0]!.nodeName} has room (${free(fitting[0]!)} free)${next}` };
  }
  const top = largest[0]!;
  const scope = required.size > 0 ? ` on the required nodes (${[...required].join(', ')})` : '';
  return { ok: false, message: `no ${request.poolClass} pool${scope} has room for ${need}: the largest has ${free(top)} free (${top.nodeName})` };
}

/** At most this many refused nodes are named, so a message stays readable in a large cluster. */
const namedRefusals = 3;

function withRefused(request: PlacementRequest, eligible: readonly PoolCandidate[], refused: readonly RefusedNode[], message: string): string {
  const named = refused.slice(0, namedRefusals).map((r) => `${r.nodeName}: ${r.reason}`).join('; ');
  const more = refused.length > namedRefusals ? `; and ${refused.length - namedRefusals} more` : '';
  if (eligible.length > 0) return `${message}; not considered: ${named}${more}`;
  const scope = request.requiredNodes?.length ? `none of the required nodes (${request.requiredNodes.join(', ')})` : 'no node';
  return `${scope} can take a new ${request.poolClass} volume now: ${named}${more}`;
}

function noPoolMessage(request: PlacementRequest): string {
  const required = request.requiredNodes ?? [];
  if (required.length > 0) return `none of the required nodes (${required.join(', ')}) has a Ready ${request.poolClass} pool`;
  return `no node has a Ready ${request.poolClass} pool: claim ${request.poolClass} disks for Loam (a LocalDiskClaim with owner local-storage) on some node`;
}

function byMostAvailable(a: PoolCandidate, b: PoolCandidate): number {
  return b.availableBytes - a.availableBytes || (a.nodeName < b.nodeName ? -1 : a.nodeName > b.nodeName ? 1 : 0);
}

function free(c: PoolCandidate): string {
  return formatCapacity(Math.max(0, Math.floor(c.availableBytes)));
}
