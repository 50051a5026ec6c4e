/**
 * Free bytes of a node's pool of one class, as the extender must count them: the room placement
 * counts (src/localstorage/placement-room.ts, the one rule for both, which also turns away nodes
 * whose agent stopped reporting), minus what pods placed moments ago have reserved and placement
 * cannot know about yet.
 */
import { poolRoom as placementRoom } from '../localstorage/placement-room.js';
import type { Placing, Reservations } from './reservations.js';
import type { ClusterView, PoolClass, PoolView } from './view.js';

export type RoomResult = { ok: true; pool: PoolView; freeBytes: number; reservedBytes: number } | { ok: false; reason: string };

export function poolRoom(node: string, poolClass: PoolClass, view: ClusterView, reservations: Reservations, except?: Placing): RoomResult {
  const room = placementRoom(node, poolClass, view);
  if (!room.ok) return { ok: false, reason: room.reason };
  const reservedBytes = reservations.reservedBytes(node, poolClass, view, except);
  return { ok: true, pool: room.pool, freeBytes: room.availableBytes - reservedBytes, reservedBytes };
}
