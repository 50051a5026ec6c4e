/**
 * Bytes still available in a node's pool of one class: the one rule that placement, the scheduler
 * extender (src/scheduler-plugin/room.ts, which then takes its reservations off) and CSI GetCapacity
 * (src/csi/controller-capacity.ts) all count room by, so a node the extender lets a pod onto is a
 * node placement then gives the volume to, and CSIStorageCapacity never advertises room placement
 * would refuse.
 *
 *   available = min(freeBytes − promised, totalBytes − placed)
 *
 * over every Loam replica in the node's pool (one per volume: a volume has at most one replica on a
 * node), each counted once, by volume name:
 * - `promised` = spec.capacityBytes − status.allocatedBytes: bytes not yet visible in freeBytes (an LV
 *   not created or not grown yet). The node agent refreshes its LocalStorageNode after lvcreate and
 *   before it writes allocatedBytes, so this never undercounts. A replica not in the cache yet counts
 *   whole: from the placer's ledger, or from a volume whose spec.replicaNodes names the node.
 * - `placed` = the full capacity of all of them: a bound that holds even when the node's report is
 *   older than the replica cache.
 * `freeBytes − promised` is what makes a VG that also holds LVs that are not Loam's count right: the
 * size bound cannot see those, `vg_free` can.
 *
 * New volumes also need a node whose agent is alive (node-liveness.ts); growing a replica that
 * exists does not (`forNewVolumes: false`): its bytes are there or not, whoever is watching.
 */
import type { MediaClass } from '../api/index.js';
import type { PlacementLedger } from './placement-ledger.js';
import { acceptsNewVolumes, defaultStaleAfterMs, type LivenessFacts } from './node-liveness.js';
import type { PoolCandidate } from './placement.js';

/** The fields of a pool (LocalStorageNode status.pools[]) room is counted from. */
export interface RoomPool {
  name: string;
  vgName?: string;
  mediaClass: MediaClass;
  totalBytes?: number;
  freeBytes?: number;
}

export interface RoomNode extends LivenessFacts {
  status?: LivenessFacts['status'] & { pools?: RoomPool[] };
}

export interface RoomReplica {
  spec?: { volumeName?: string; poolName?: string; capacityBytes?: number };
  status?: { allocatedBytes?: number };
}

export interface RoomVolume {
  metadata?: { name?: string; deletionTimestamp?: unknown };
  spec?: { poolClass?: MediaClass; capacityBytes?: number };
}

/** What room is computed from: informer caches in production, plain arrays in unit tests. */
export interface RoomSources {
  storageNode(nodeName: string): RoomNode | undefined;
  replicasOnNode(nodeName: string): readonly RoomReplica[];
  /** Volumes whose spec.replicaNodes names the node. */
  volumesPlacedOn(nodeName: string): readonly RoomVolume[];
  /** The clock liveness is judged by (default Date.now). */
  now?(): number;
  /** Heartbeat age after which a node gets no new volumes (default defaultStaleAfterMs). */
  staleAfterMs?: number;
  /** Room already counted, reused while the node's inputs are unchanged (only when no ledger is given). */
  roomMemo?: RoomMemo;
}

export type PoolRoom =
  | { ok: true; pool: RoomPool; poolName: string; availableBytes: number }
  /** `refused`: the node has no live, Ready storage (a reason worth naming when nothing else fits); `noPool`: no pool of the class. */
  | { ok: false; why: 'refused' | 'noPool'; reason: string };

export interface RoomOptions {
  /** Bytes the caller promised that its caches may not show yet. */
  ledger?: PlacementLedger;
  /** Judge the node's liveness too (default true); false for growing a replica that exists. */
  forNewVolumes?: boolean;
}

export function poolNameOf(pool: RoomPool): string {
  return pool.vgName ?? pool.name;
}

/** The room of `nodeName`'s pool of `poolClass`, or why there is none. */
export function poolRoom(nodeName: string, poolClass: MediaClass, sources: RoomSources, opts: RoomOptions = {}): PoolRoom {
  const lsn = sources.storageNode(nodeName);
  if (opts.forNewVolumes !== false) {
    const live = acceptsNewVolumes(lsn, sources.now?.() ?? Date.now(), sources.staleAfterMs ?? defaultStaleAfterMs);
    if (!live.ok) return { ok: false, why: 'refused', reason: live.reason };
  } else if (lsn?.status?.state !== 'Ready') {
    return { ok: false, why: 'refused', reason: `Loam storage on this node is ${lsn?.status?.state ?? 'not reporting'}` };
  }
  const pool = lsn?.status?.pools?.find((p) => p.mediaClass === poolClass);
  if (!pool) return { ok: false, why: 'noPool', reason: `the node has no ${poolClass} pool` };
  const poolName = poolNameOf(pool);
  const memo = opts.ledger ? undefined : sources.roomMemo;
  const remembered = memo?.get(nodeName, poolClass, pool);
  if (remembered !== undefined) return { ok: true, pool, poolName, availableBytes: remembered };
  // This runs for every candidate node of every extender request the memo cannot answer: plain
  // loops and sums, no closures; a Map only when the ledger holds promises for the node.
  let ledger: Map<string, number> | undefined;
  for (const e of opts.ledger?.entriesOn(nodeName) ?? []) {
    if (e.poolName === poolName || e.poolName === pool.name) (ledger ??= new Map()).set(e.volumeName, Math.max(e.capacityBytes, ledger.get(e.volumeName) ?? 0));
  }
  // Each volume once, by its name (a replica's own name follows a naming scheme; the volume's does not change).
  const seen = new Set<string>();
  let promised = 0;
  let placed = 0;
  for (const r of sources.replicasOnNode(nodeName)) {
    const volumeName = r.spec?.volumeName;
    const replicaPool = r.spec?.poolName;
    if (!volumeName || (replicaPool !== poolName && replicaPool !== pool.name) || seen.has(volumeName)) continue;
    seen.add(volumeName);
    const capacity = ledger ? Math.max(r.spec?.capacityBytes ?? 0, ledger.get(volumeName) ?? 0) : r.spec?.capacityBytes ?? 0;
    promised += Math.max(0, capacity - (r.status?.allocatedBytes ?? 0));
    placed += capacity;
  }
  for (const v of sources.volumesPlacedOn(nodeName)) {
    const name = v.metadata?.name;
    if (!name || v.metadata?.deletionTimestamp || v.spec?.poolClass !== poolClass || seen.has(name)) continue;
    seen.add(name);
    const capacity = ledger ? Math.max(v.spec.capacityBytes ?? 0, ledger.get(name) ?? 0) : v.spec.capacityBytes ?? 0;
    promised += capacity;
    placed += capacity;
  }
  for (const [volumeName, capacity] of ledger ?? []) {
    if (seen.has(volumeName)) continue;
    promised += capacity;
    placed += capacity;
  }
  const free = (pool.freeBytes ?? 0) - promised;
  const availableBytes = pool.totalBytes === undefined ? free : Math.min(free, pool.totalBytes - placed);
  memo?.set(nodeName, poolClass, pool, availableBytes);
  return { ok: true, pool, poolName, availableBytes };
}

/**
 * Room counted per node and class, kept while the node's inputs stay the same: the extender counts
 * every candidate node in every request, and most nodes have not changed since the last one. The
 * owner of the caches calls `forget(node)` when a replica on the node or a volume placed on it
 * changes (src/scheduler-plugin/cache-view.ts does, from informer events, which come after the
 * cache has the change); a new LocalStorageNode report is seen by its pool object's identity
 * (informers replace objects, never change them). An entry also expires after `maxAgeMs`, so a
 * change that reached no `forget` is counted again soon anyway.
 */
export class RoomMemo {
  private readonly byNode = new Map<string, Map<MediaClass, { pool: RoomPool; availableBytes: number; at: number }>>();

  constructor(private readonly maxAgeMs = 5_000, private readonly now: () => number = Date.now) {}

  get(nodeName: string, poolClass: MediaClass, pool: RoomPool): number | undefined {
    const entry = this.byNode.get(nodeName)?.get(poolClass);
    if (!entry || entry.pool !== pool || this.now() - entry.at > this.maxAgeMs) return undefined;
    return entry.availableBytes;
  }

  set(nodeName: string, poolClass: MediaClass, pool: RoomPool, availableBytes: number): void {
    let classes = this.byNode.get(nodeName);
    if (!classes) this.byNode.set(nodeName, (classes = new Map()));
    classes.set(poolClass, { pool, availableBytes, at: this.now() });
  }

  forget(nodeName: string | undefined): void {
    if (nodeName !== undefined) this.byNode.delete(nodeName);
  }

  /** Nodes with something remembered. */
  get size(): number {
    return this.byNode.size;
  }
}

/** The pool of `poolClass` on `nodeName` as a placement candidate; undefined when the node cannot take a new volume of the class. */
export function poolCandidate(nodeName: string, poolClass: MediaClass, sources: RoomSources, ledger: PlacementLedger): PoolCandidate | undefined {
  const room = poolRoom(nodeName, poolClass, sources, { ledger });
  return room.ok ? { nodeName, poolName: room.poolName, availableBytes: room.availableBytes } : undefined;
}

/** A node that has a pool of the class but takes no new volumes, and why. */
export interface RefusedNode {
  nodeName: string;
  reason: string;
}

/** Every node's candidate pool of `poolClass`, and the nodes refused for their liveness (for placement's message). */
export function placementCandidates(nodeNames: Iterable<string>, poolClass: MediaClass, sources: RoomSources, ledger: PlacementLedger): { candidates: PoolCandidate[]; refused: RefusedNode[] } {
  const candidates: PoolCandidate[] = [];
  const refused: RefusedNode[] = [];
  for (const nodeName of nodeNames) {
    const room = poolRoom(nodeName, poolClass, sources, { ledger });
    if (room.ok) candidates.push({ nodeName, poolName: room.poolName, availableBytes: room.availableBytes });
    else if (room.why === 'refused' && hasPoolOf(sources.storageNode(nodeName), poolClass)) refused.push({ nodeName, reason: room.reason });
  }
  return { candidates, refused };
}

function hasPoolOf(lsn: RoomNode | undefined, poolClass: MediaClass): boolean {
  return lsn?.status?.pools?.some((p) => p.mediaClass === poolClass) ?? false;
}
