/**
 * The extender's filter: which of the candidate nodes can take the pod's Loam volumes, and for every
 * node turned away, why (kube-scheduler shows these reasons in the pod's FailedScheduling event).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { formatBytes } from '../common/quantity.js';
import { hasDemand, podDemand, type PodDemand } from './demand.js';
import type { Placing, Reservations } from './reservations.js';
import { poolRoom } from './room.js';
import type { ClusterView, PoolClass } from './view.js';

export interface FilterResult {
  NodeNames: string[];
  FailedNodes: Record<string, string>;
  FailedAndUnresolvableNodes: Record<string, string>;
  Error: string;
}

/** Bytes per pool class, of all unbound claims or of the two-replica ones only. */
export function needByClass(demand: PodDemand, twoReplicaOnly = false): Map<PoolClass, { bytes: number; claims: number }> {
  const need = new Map<PoolClass, { bytes: number; claims: number }>();
  for (const c of demand.unbound) {
    if (twoReplicaOnly && c.replicaCount !== 2) continue;
    const n = need.get(c.poolClass) ?? { bytes: 0, claims: 0 };
    need.set(c.poolClass, { bytes: n.bytes + c.bytes, claims: n.claims + 1 });
  }
  return need;
}

export function filterNodes(pod: V1Pod, nodeNames: string[], view: ClusterView, reservations: Reservations): FilterResult {
  const result: FilterResult = { NodeNames: [], FailedNodes: {}, FailedAndUnresolvableNodes: {}, Error: '' };
  const demand = podDemand(pod, view);
  if (!hasDemand(demand)) {
    result.NodeNames = [...nodeNames];
    return result;
  }
  const placing = placingOf(demand);
  if (demand.blocker) {
    for (const node of nodeNames) result.FailedNodes[node] = `loam: ${demand.blocker}`;
    return result;
  }
  reservations.refresh(view);
  const need = needByClass(demand);
  const secondNodes = secondReplicaNodes(demand, view, reservations, placing);
  for (const node of nodeNames) {
    const away = boundReason(demand, node);
    if (away) {
      result.FailedAndUnresolvableNodes[node] = `loam: ${away}`;
      continue;
    }
    const reason = roomReason(node, need, view, reservations, placing) ?? secondReplicaReason(node, secondNodes);
    if (reason) result.FailedNodes[node] = `loam: ${reason}`;
    else result.NodeNames.push(node);
  }
  reservations.reserve(demand.unbound, result.NodeNames);
  return result;
}

/** The pod being placed, so that neither its own claims' reservations nor its own annotated claims count against it. */
export function placingOf(demand: PodDemand): Placing {
  return { claimKeys: new Set(demand.unbound.map((c) => c.key)) };
}

function boundReason(demand: PodDemand, node: string): string | undefined {
  for (const claim of demand.bound) {
    if (!claim.nodes.includes(node)) {
      return `volume ${claim.volumeName} of claim ${claim.key} lives on ${claim.nodes.length ? claim.nodes.join(', ') : 'no node yet'}`;
    }
  }
  return undefined;
}

function roomReason(node: string, need: Map<PoolClass, { bytes: number; claims: number }>, view: ClusterView, reservations: Reservations, placing: Placing): string | undefined {
  for (const [poolClass, { bytes, claims }] of need) {
    const room = poolRoom(node, poolClass, view, reservations, placing);
    if (!room.ok) return room.reason;
    if (room.freeBytes < bytes) {
      const reserved = room.reservedBytes > 0 ? ` (${formatBytes(room.reservedBytes)} more is reserved for pods being placed)` : '';
      return `${poolClass} pool has ${formatBytes(Math.max(0, room.freeBytes))} free${reserved}; the pod needs ${formatBytes(bytes)} for ${claims} claim${claims > 1 ? 's' : ''}`;
    }
  }
  return undefined;
}

/**
 * For each class with two-replica claims: up to two storage nodes with room for the second replicas.
 * Two are enough to answer "is there a node other than this one", so the scan stops there.
 */
function secondReplicaNodes(demand: PodDemand, view: ClusterView, reservations: Reservations, placing: Placing): Map<PoolClass, { bytes: number; nodes: Set<string> }> {
  const out = new Map<PoolClass, { bytes: number; nodes: Set<string> }>();
  for (const [poolClass, { bytes }] of needByClass(demand, true)) {
    const nodes = new Set<string>();
    for (const lsn of view.storageNodes()) {
      const name = lsn.spec?.nodeName ?? lsn.metadata?.name;
      if (!name) continue;
      const room = poolRoom(name, poolClass, view, reservations, placing);
      if (room.ok && room.freeBytes >= bytes) nodes.add(name);
      if (nodes.size === 2) break;
    }
    out.set(poolClass, { bytes, nodes });
  }
  return out;
}

function secondReplicaReason(node: string, second: Map<PoolClass, { bytes: number; nodes: Set<string> }>): string | undefined {
  for (const [poolClass, { bytes, nodes }] of second) {
    const others = [...nodes].filter((n) => n !== node);
    if (others.length === 0) return `no other node has ${formatBytes(bytes)} free in a ${poolClass} pool for the second replica`;
  }
  return undefined;
}
