/**
 * The extender's prioritize: 0..10 per node. A node holding an up-to-date replica of the pod's data
 * scores highest; for volumes still to be created the policy decides: `binpack` fills nodes up
 * (fewer nodes carry data), `spread` favours the node left with the most free space.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { hasDemand, podDemand, type PodDemand } from './demand.js';
import { needByClass, placingOf } from './filter.js';
import type { Placing, Reservations } from './reservations.js';
import { poolRoom } from './room.js';
import type { ClusterView } from './view.js';

export type ScorePolicy = 'binpack' | 'spread';

export interface HostPriority {
  Host: string;
  Score: number;
}

export const maxScore = 10;

export function scoreNodes(pod: V1Pod, nodeNames: string[], view: ClusterView, reservations: Reservations, policy: ScorePolicy): HostPriority[] {
  const demand = podDemand(pod, view);
  if (!hasDemand(demand) || demand.blocker) return nodeNames.map((Host) => ({ Host, Score: 0 }));
  const placing = placingOf(demand);
  reservations.refresh(view);
  return nodeNames.map((Host) => ({ Host, Score: nodeScore(Host, demand, view, reservations, policy, placing) }));
}

function nodeScore(node: string, demand: PodDemand, view: ClusterView, reservations: Reservations, policy: ScorePolicy, placing: Placing): number {
  const parts: number[] = [];
  for (const claim of demand.bound) {
    parts.push(claim.syncedNodes.includes(node) ? maxScore : claim.nodes.includes(node) ? maxScore / 2 : 0);
  }
  for (const [poolClass, { bytes }] of needByClass(demand)) {
    const room = poolRoom(node, poolClass, view, reservations, placing);
    const total = room.ok ? room.pool.totalBytes ?? 0 : 0;
    if (!room.ok || total <= 0 || room.freeBytes < bytes) {
      parts.push(0);
      continue;
    }
    const freeAfter = (room.freeBytes - bytes) / total;
    parts.push(maxScore * (policy === 'binpack' ? 1 - freeAfter : freeAfter));
  }
  const mean = parts.reduce((a, b) => a + b, 0) / parts.length;
  return Math.max(0, Math.min(maxScore, Math.round(mean)));
}
