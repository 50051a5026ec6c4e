/**
 * A LocalVolume's status, aggregated from its replicas. Pure; the clock is passed in.
 *
 * States, first match wins:
 * - Deleting: the volume has a deletionTimestamp (message: the replicas left, or why the deletion
 *   waits: a PersistentVolume still names the volume);
 * - Pending: not placed (spec.replicaNodes empty); message = why, naming the largest pool;
 * - Failed: every replica is Failed, lost with its node, or gone after the volume held data (a
 *   single replica: message = the replica's);
 * - Degraded: one replica of two is Failed, lost with its node or gone; or a replica was deleted by
 *   hand and its node agent holds it (the LV and data stay); or a replica is out of sync;
 * - Creating: a replica does not exist yet or is still Creating;
 * - Expanding: spec.capacityBytes grew and a replica has not got there yet;
 * - Ready: every replica Ready, in sync and at least spec.capacityBytes.
 * A `Ready` condition (True only in Ready) makes `kubectl wait --for=condition=Ready lv/<name>` work.
 *
 * Once the volume holds data (see `holdsData`), a replica that is gone is never made again: it
 * would be an empty LV a workload starts on without noticing. `status.firstReadyTime` is the
 * record of that, written with the first Ready and kept from then on.
 */
import { formatCapacity, localVolumeReplicaName, type Condition, type LocalVolume, type LocalVolumeReplica, type LocalVolumeState, type LocalVolumeStatus, type VolumeReplicaStatus } from '../api/index.js';

export interface VolumeStatusInput {
  volume: LocalVolume;
  /** The volume's LocalVolumeReplicas (from the cache). */
  replicas: readonly LocalVolumeReplica[];
  /** Nodes deleted from the cluster for longer than the grace period (orphans.ts). */
  goneNodes: ReadonlySet<string>;
  /** Why placement found no room (Pending). */
  pendingMessage?: string;
  /** Why a grow cannot proceed (Expanding). */
  expandMessage?: string;
  /** The volume holds data (`holdsData`): a missing replica is gone, not to be created. */
  holdsData?: boolean;
  /** Deleting, and a PersistentVolume holds the deletion back: why (volume-protection.ts). */
  deletionHeld?: string;
  now: Date;
}

/**
 * Whether the volume may hold data a workload wrote: it has been Ready (`status.firstReadyTime`;
 * an earlier version's Ready or Expanding counts too), or a PersistentVolume names it (Kubernetes
 * was given it). From then on a replica is never made again empty.
 */
export function holdsData(volume: LocalVolume, hasPersistentVolume: boolean): boolean {
  const s = volume.status;
  return hasPersistentVolume || Boolean(s?.firstReadyTime) || s?.state === 'Ready' || s?.state === 'Expanding';
}

/** Why a replica is missing from the volume's point of view, if it is. */
function goneMessage(volume: LocalVolume, node: string): string {
  return `the replica on ${node} (LocalVolumeReplica ${localVolumeReplicaName(volume.metadata.name!, node)}) is gone although the volume held data: Loam does not make it again empty. `
    + `Its LV, if it is still on ${node}, is kept and listed in LocalStorageNode ${node} status.unownedVolumes. `
    + 'Copy the data you need off that LV, then delete the PersistentVolumeClaim to let the volume go';
}

function heldMessage(replica: LocalVolumeReplica): string {
  return `LocalVolumeReplica ${replica.metadata.name} on ${replica.spec.nodeName} was deleted by hand while the volume uses it: its node agent keeps the LV and the data, `
    + 'and the object (its finalizer holds), until the volume itself is deleted; it is not made again. Pods using it keep it and it can be mounted again. '
    + 'Delete the PersistentVolumeClaim when the data is no longer needed';
}

export function volumeStatus(input: VolumeStatusInput): LocalVolumeStatus {
  const { volume } = input;
  const nodes = volume.spec.replicaNodes ?? [];
  const byNode = new Map(input.replicas.map((r) => [r.spec.nodeName, r]));
  const replicas: VolumeReplicaStatus[] = nodes.map((node) => {
    const r = byNode.get(node);
    const state = input.goneNodes.has(node) ? 'Lost' : !r && input.holdsData ? 'Gone' : r?.status?.state ?? 'Creating';
    return { name: r?.metadata.name ?? localVolumeReplicaName(volume.metadata.name!, node), nodeName: node, state, synced: r?.status?.synced ?? false };
  });
  const allocated = nodes.map((n) => byNode.get(n)?.status?.allocatedBytes);
  const { state, message, reason } = stateOf(input, nodes, byNode);
  const firstReadyTime = volume.status?.firstReadyTime ?? (state === 'Ready' ? rfc3339(input.now) : undefined);
  return {
    state,
    ...(firstReadyTime ? { firstReadyTime } : {}),
    replicas,
    ...(allocated.length > 0 && allocated.every((a) => a !== undefined) ? { allocatedBytes: Math.min(...(allocated as number[])) } : {}),
    capacity: formatCapacity(volume.spec.capacityBytes),
    nodes: nodes.join(','),
    message,
    conditions: [...(volume.status?.conditions ?? []).filter((c) => c.type !== 'Ready'), readyCondition(volume, state, reason ?? state, message, input.now)],
  };
}

/** Condition reasons beyond the state names: what happened to a replica, or why a deletion waits. */
export type VolumeReason = 'ReplicaGone' | 'ReplicaDeletionHeld' | 'DeletionHeld';

function stateOf(input: VolumeStatusInput, nodes: readonly string[], byNode: Map<string, LocalVolumeReplica>): { state: LocalVolumeState; message: string; reason?: VolumeReason } {
  const { volume } = input;
  if (volume.metadata.deletionTimestamp) {
    if (input.deletionHeld) return { state: 'Deleting', message: input.deletionHeld, reason: 'DeletionHeld' };
    const left = input.replicas.map((r) => r.spec.nodeName).sort();
    return { state: 'Deleting', message: left.length > 0 ? `removing the replicas on ${left.join(', ')}` : 'replicas removed' };
  }
  if (nodes.length === 0) return { state: 'Pending', message: input.pendingMessage ?? 'waiting for placement' };
  const broken: string[] = [];
  const held: string[] = [];
  let gone = false;
  const outOfSync: string[] = [];
  const notReady: string[] = [];
  for (const node of nodes) {
    const r = byNode.get(node);
    if (input.goneNodes.has(node)) broken.push(`node ${node} was deleted from the cluster and its replica with it`);
    else if (!r && input.holdsData) {
      broken.push(goneMessage(volume, node));
      gone = true;
    } else if (r?.metadata.deletionTimestamp) held.push(heldMessage(r));
    else if (r?.status?.state === 'Failed') broken.push(nodes.length === 1 ? r.status.message ?? `the replica on ${node} failed` : `the replica on ${node} failed: ${r.status.message ?? 'no message'}`);
    else if (!r || !r.status?.state || r.status.state === 'Creating') notReady.push(node);
    else if (r.status.synced === false && volume.spec.replicaCount > 1) outOfSync.push(node);
  }
  const why = gone ? { reason: 'ReplicaGone' as const } : {};
  if (broken.length > 0 && broken.length === nodes.length) return { state: 'Failed', message: broken.join('; '), ...why };
  if (broken.length > 0 || held.length > 0) return { state: 'Degraded', message: [...broken, ...held].join('; '), ...(gone || held.length === 0 ? why : { reason: 'ReplicaDeletionHeld' as const }) };
  if (outOfSync.length > 0) return { state: 'Degraded', message: `the replica on ${outOfSync.join(', ')} is out of sync` };
  if (notReady.length > 0) return { state: 'Creating', message: `creating the replica on ${notReady.join(', ')}` };
  const short = nodes.filter((n) => (byNode.get(n)?.status?.allocatedBytes ?? 0) < volume.spec.capacityBytes || byNode.get(n)?.status?.state === 'Expanding');
  if (short.length > 0) return { state: 'Expanding', message: input.expandMessage ?? `growing to ${formatCapacity(volume.spec.capacityBytes)} on ${short.join(', ')}` };
  return { state: 'Ready', message: `${nodes.length === 1 ? 'the replica is' : 'both replicas are'} ready on ${nodes.join(', ')}` };
}

function rfc3339(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z');
}

function readyCondition(volume: LocalVolume, state: LocalVolumeState, reason: string, message: string, now: Date): Condition {
  const previous = volume.status?.conditions?.find((c) => c.type === 'Ready');
  const status: Condition['status'] = state === 'Ready' ? 'True' : 'False';
  return {
    type: 'Ready',
    status,
    reason,
    message,
    // The transition time moves only when the condition's status does.
    lastTransitionTime: previous?.status === status ? previous.lastTransitionTime : rfc3339(now),
    ...(volume.metadata.generation !== undefined ? { observedGeneration: volume.metadata.generation } : {}),
  };
}

/** True when writing `next` would change nothing a user sees (so a steady volume costs no writes). */
export function sameVolumeStatus(current: LocalVolumeStatus | undefined, next: LocalVolumeStatus): boolean {
  const visible = (s: LocalVolumeStatus | undefined): string => JSON.stringify([
    s?.state, s?.message, s?.capacity, s?.nodes, s?.allocatedBytes, s?.firstReadyTime, s?.replicas ?? [],
    (s?.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration]),
  ]);
  return visible(current) === visible(next);
}
