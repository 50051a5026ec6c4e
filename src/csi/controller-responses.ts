/**
 * What a LocalVolume looks like to a CO: the CSI Volume (size, context, topology), its condition,
 * and where a CreateVolume that waits for it stands. Pure.
 */
import type { LocalVolume } from '../api/index.js';
import type { Volume } from './generated/csi/v1/Volume.js';
import type { VolumeCondition } from './generated/csi/v1/VolumeCondition.js';
import { volumeAnnotations } from './controller-requests.js';
import { defaultFsType, topologyOf, volumeContextKeys } from './validate.js';

/** The bytes the volume holds now: what its LVs have, else what was asked for. */
export function volumeBytes(v: LocalVolume): number {
  return Math.max(v.status?.allocatedBytes ?? 0, v.spec.capacityBytes);
}

export function csiVolumeOf(v: LocalVolume): Volume {
  return {
    volume_id: v.metadata.name!,
    capacity_bytes: volumeBytes(v),
    volume_context: {
      [volumeContextKeys.poolClass]: v.spec.poolClass,
      [volumeContextKeys.replicaCount]: String(v.spec.replicaCount),
      [volumeContextKeys.fsType]: v.metadata.annotations?.[volumeAnnotations.fsType] ?? defaultFsType,
    },
    accessible_topology: (v.spec.replicaNodes ?? []).map(topologyOf),
  };
}

/** Abnormal when the volume is Failed or Degraded (a replica missing or out of sync), or being deleted. */
export function volumeConditionOf(v: LocalVolume): VolumeCondition {
  const state = v.status?.state ?? 'Pending';
  const abnormal = state === 'Failed' || state === 'Degraded' || !!v.metadata.deletionTimestamp;
  const message = v.status?.message ? `${state}: ${v.status.message}` : state;
  return { abnormal, message };
}

/** The placer's message of a volume it has not placed yet, before it has looked at it. */
const notYetPlaced = 'waiting for placement';

export type CreationOutcome =
  | { kind: 'ready' }
  | { kind: 'no-room'; message: string }
  | { kind: 'failed'; message: string }
  | { kind: 'deleting' }
  | { kind: 'waiting'; why: string };

/**
 * Where a new volume stands. Ready: every replica is ready. Pending with a message of the placer
 * (anything but "waiting for placement") means no pool has room for it. A status written for an
 * older generation of the spec does not count yet.
 */
export function creationOutcome(v: LocalVolume): CreationOutcome {
  if (v.metadata.deletionTimestamp) return { kind: 'deleting' };
  const status = v.status;
  const state = status?.state;
  const ready = status?.conditions?.find((c) => c.type === 'Ready');
  const stale = ready?.observedGeneration !== undefined && v.metadata.generation !== undefined && ready.observedGeneration < v.metadata.generation;
  if (!state || stale) return { kind: 'waiting', why: 'waiting for placement' };
  if (state === 'Ready' && (v.spec.replicaNodes?.length ?? 0) > 0) return { kind: 'ready' };
  if (state === 'Pending' && !v.spec.replicaNodes?.length && status.message && status.message !== notYetPlaced) return { kind: 'no-room', message: status.message };
  if (state === 'Failed') return { kind: 'failed', message: status.message ?? 'the volume failed' };
  return { kind: 'waiting', why: `${state}${status.message ? `: ${status.message}` : ''}` };
}
