/**
 * Bytes still available in a node's pool of one class, as placement must count them:
 *
 *   available = min(freeBytes − promised, totalBytes − placed)
 *
 * `promised` is, over every replica on the node's pool, the bytes not yet visible in freeBytes:
 * spec.capacityBytes − status.allocatedBytes (the node agent refreshes its LocalStorageNode after
 * lvcreate and before it writes allocatedBytes, so this never undercounts). A replica not in the
 * cache yet counts whole: from the placer's ledger, or from a volume whose spec.replicaNodes names
 * the node. `placed` is the full capacity of all of them: the same bound the scheduler extender uses
 * (src/scheduler-plugin/room.ts), which holds even when the replica and node caches arrive out of
 * order.
 */
import { localVolumeReplicaName, type LocalStorageNode, type LocalVolume, type LocalVolumeReplica, type MediaClass, type StoragePool } from '../api/index.js';
import type { PlacementLedger } from './placement-ledger.js';
import type { PoolCandidate } from './placement.js';

/** What room is computed from: the placer's informer caches (plain arrays in unit tests). */
export interface RoomSources {
  storageNode(nodeName: string): LocalStorageNode | undefined;
  replicasOnNode(nodeName: string): readonly LocalVolumeReplica[];
  /** Volumes whose spec.replicaNodes names the node. */
  volumesPlacedOn(nodeName: string): readonly LocalVolume[];
}

/** The node's pool of the class, if its LocalStorageNode is Ready and has one. */
export function readyPool(lsn: LocalStorageNode | undefined, poolClass: MediaClass): StoragePool | undefined {
  if (lsn?.status?.state !== 'Ready') return undefined;
  return lsn.status.pools?.find((p) => p.mediaClass === poolClass);
}

export function poolNameOf(pool: StoragePool): string {
  return pool.vgName ?? pool.name;
}

/** The pool of `poolClass` on `nodeName` with its available bytes; undefined when the node cannot take the class at all. */
export function poolCandidate(nodeName: string, poolClass: MediaClass, sources: RoomSources, ledger: PlacementLedger): PoolCandidate | undefined {
  const pool = readyPool(sources.storageNode(nodeName), poolClass);
  if (!pool) return undefined;
  const poolName = poolNameOf(pool);
  const inPool = (name: string | undefined): boolean => name === poolName || name === pool.name;
  const replicas = new Map<string, { capacityBytes: number; allocatedBytes: number }>();
  for (const r of sources.replicasOnNode(nodeName)) {
    if (inPool(r.spec?.poolName)) replicas.set(r.metadata.name!, { capacityBytes: r.spec.capacityBytes, allocatedBytes: r.status?.allocatedBytes ?? 0 });
  }
  for (const v of sources.volumesPlacedOn(nodeName)) {
    if (v.metadata.deletionTimestamp || v.spec?.poolClass !== poolClass) continue;
    const name = localVolumeReplicaName(v.metadata.name!, nodeName);
    if (!replicas.has(name)) replicas.set(name, { capacityBytes: v.spec.capacityBytes, allocatedBytes: 0 });
  }
  for (const e of ledger.entriesOn(nodeName)) {
    if (!inPool(e.poolName)) continue;
    const known = replicas.get(e.replicaName);
    if (!known) replicas.set(e.replicaName, { capacityBytes: e.capacityBytes, allocatedBytes: 0 });
    else known.capacityBytes = Math.max(known.capacityBytes, e.capacityBytes);
  }
  let promised = 0;
  let placed = 0;
  for (const r of replicas.values()) {
    promised += Math.max(0, r.capacityBytes - r.allocatedBytes);
    placed += r.capacityBytes;
  }
  const free = (pool.freeBytes ?? 0) - promised;
  const availableBytes = pool.totalBytes === undefined ? free : Math.min(free, pool.totalBytes - placed);
  return { nodeName, poolName, availableBytes };
}
