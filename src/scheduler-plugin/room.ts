/**
 * Free bytes of a node's pool of one class, as the extender must count them: never more than the
 * pool reports, never more than its size minus every replica already placed there (the node agent's
 * report lags behind new replicas), minus what pods placed moments ago have reserved.
 */
import type { Placing, Reservations } from './reservations.js';
import type { ClusterView, PoolClass, PoolView } from './view.js';

export type RoomResult = { ok: true; pool: PoolView; freeBytes: number; reservedBytes: number } | { ok: false; reason: string };

export function poolRoom(node: string, poolClass: PoolClass, view: ClusterView, reservations: Reservations, except?: Placing): RoomResult {
  const lsn = view.storageNode(node);
  if (!lsn) return { ok: false, reason: 'Loam storage does not run on this node (no LocalStorageNode)' };
  if (lsn.status?.state !== 'Ready') return { ok: false, reason: `Loam storage on this node is ${lsn.status?.state ?? 'not reporting'}` };
  const pool = lsn.status.pools?.find((p) => p.mediaClass === poolClass);
  if (!pool) return { ok: false, reason: `the node has no ${poolClass} pool` };
  let placed = 0;
  for (const replica of view.replicasOnNode(node)) {
    const inPool = replica.spec?.poolName !== undefined && pool.name !== undefined
      ? replica.spec.poolName === pool.name
      : view.volume(replica.spec?.volumeName ?? '')?.spec?.poolClass === poolClass;
    if (inPool) placed += replica.spec?.capacityBytes ?? 0;
  }
  const reservedBytes = reservations.reservedBytes(node, poolClass, view, except);
  const freeBytes = Math.min(pool.freeBytes, pool.totalBytes - placed) - reservedBytes;
  return { ok: true, pool, freeBytes, reservedBytes };
}
