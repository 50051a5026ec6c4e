/**
 * The status the node agent writes on a LocalVolumeReplica, and the merge patch that gets it there.
 * One `Ready` condition mirrors the state, so `kubectl wait --for=condition=Ready lvr/<name>` works.
 * Pure; the clock is passed in.
 */
import { formatCapacity, type Condition, type LocalVolumeReplica, type LocalVolumeReplicaState, type LocalVolumeReplicaStatus } from '../api/index.js';
import type { LvReport } from './lvm.js';

/** Condition reasons, CamelCase, as `kubectl describe` shows them. */
export type ReplicaReason = 'LvReady' | 'Creating' | 'Expanding' | 'Deleting' | 'LvmError' | 'ForeignLv' | 'LvTaken' | 'LvMissing' | 'PoolMissing' | 'InvalidObject';

function readyCondition(replica: LocalVolumeReplica, status: Condition['status'], reason: ReplicaReason, message: string, now: Date): Condition {
  const previous = replica.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    type: 'Ready',
    status,
    reason,
    message,
    // The transition time moves only when the condition's status does.
    lastTransitionTime: previous?.status === status ? previous.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, 'Z'),
    ...(replica.metadata.generation !== undefined ? { observedGeneration: replica.metadata.generation } : {}),
  };
}

function withCondition(replica: LocalVolumeReplica, condition: Condition): Condition[] {
  return [...(replica.status?.conditions ?? []).filter((c) => c.type !== 'Ready'), condition];
}

/** The LV is there, active and big enough: Ready, with its device and size. */
export function readyStatus(replica: LocalVolumeReplica, lv: LvReport, now: Date): LocalVolumeReplicaStatus {
  return {
    state: 'Ready',
    devicePath: lv.path,
    allocatedBytes: lv.sizeBytes,
    capacity: formatCapacity(lv.sizeBytes),
    // A single replica is its own up-to-date copy; DRBD replicas will report their sync state.
    synced: true,
    conditions: withCondition(replica, readyCondition(replica, 'True', 'LvReady', `LV ${lv.path} is active`, now)),
  };
}

/**
 * Not Ready: work in progress (Creating, Expanding, Deleting), a retried LVM failure (the state it
 * had, with LVM's words in message) or Failed (needs a person). What is known about the LV stays.
 */
export function notReadyStatus(replica: LocalVolumeReplica, state: LocalVolumeReplicaState, reason: ReplicaReason, message: string, now: Date): LocalVolumeReplicaStatus {
  const { conditions: _old, message: _oldMessage, ...kept } = replica.status ?? {};
  return {
    ...kept,
    state,
    synced: kept.synced ?? false,
    ...(message ? { message } : {}),
    conditions: withCondition(replica, readyCondition(replica, 'False', reason, message || `${state.toLowerCase()} the LV`, now)),
  };
}

/** The state an LVM failure leaves: the step that failed is retried, so the replica stays in it. */
export function stateDuring(action: 'create' | 'extend' | 'activate' | 'tag' | 'remove', current?: LocalVolumeReplicaState): LocalVolumeReplicaState {
  // Tagging an LV of an earlier version changes nothing a user relies on: the replica keeps its state.
  if (action === 'tag') return current ?? 'Creating';
  return action === 'extend' ? 'Expanding' : action === 'remove' ? 'Deleting' : 'Creating';
}

/**
 * The merge patch from `current` to `next`: every field of `next`, and null for a field that is
 * set now but absent from `next` (e.g. a message that no longer applies). Undefined when nothing a
 * user sees would change (transition times aside), so a steady replica costs no write.
 */
export function statusPatch(current: LocalVolumeReplicaStatus | undefined, next: LocalVolumeReplicaStatus): Record<string, unknown> | undefined {
  if (comparable(current) === comparable(next)) return undefined;
  const patch: Record<string, unknown> = { ...next };
  for (const key of Object.keys(current ?? {})) if (!(key in next)) patch[key] = null;
  return patch;
}

function comparable(s: LocalVolumeReplicaStatus | undefined): string {
  if (!s) return '';
  const { conditions, ...rest } = s;
  const sorted = Object.fromEntries(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)));
  return JSON.stringify([sorted, (conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration])]);
}
