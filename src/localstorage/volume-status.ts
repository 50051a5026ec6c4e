/**
 * A LocalVolume's status, aggregated from its replicas. Pure; the clock is passed in.
 *
 * States, first match wins:
 * - Deleting: the volume has a deletionTimestamp;
 * - Pending: not placed (spec.replicaNodes empty); message = why, naming the largest pool;
 * - Failed: every replica is Failed or lost with its node (a single replica: message = the replica's);
 * - Degraded: one replica of two is Failed, lost with its node, or out of sync;
 * - Creating: a replica does not exist yet or is still Creating;
 * - Expanding: spec.capacityBytes grew and a replica has not got there yet;
 * - Ready: every replica Ready, in sync and at least spec.capacityBytes.
 * A `Ready` condition (True only in Ready) makes `kubectl wait --for=condition=Ready lv/<name>` work.
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
  now: Date;
}

export function volumeStatus(input: VolumeStatusInput): LocalVolumeStatus {
  const { volume } = input;
  const nodes = volume.spec.replicaNodes ?? [];
  const byNode = new Map(input.replicas.map((r) => [r.spec.nodeName, r]));
  const replicas: VolumeReplicaStatus[] = nodes.map((node) => {
    const r = byNode.get(node);
    const state = input.goneNodes.has(node) ? 'Lost' : r?.status?.state ?? 'Creating';
    return { name: r?.metadata.name ?? localVolumeReplicaName(volume.metadata.name!, node), nodeName: node, state, synced: r?.status?.synced ?? false };
  });
  const allocated = nodes.map((n) => byNode.get(n)?.status?.allocatedBytes);
  const { state, message } = stateOf(input, nodes, byNode);
  return {
    state,
    replicas,
    ...(allocated.length > 0 && allocated.every((a) => a !== undefined) ? { allocatedBytes: Math.min(...(allocated as number[])) } : {}),
    capacity: formatCapacity(volume.spec.capacityBytes),
    nodes: nodes.join(','),
    message,
    conditions: [...(volume.status?.conditions ?? []).filter((c) => c.type !== 'Ready'), readyCondition(volume, state, message, input.now)],
  };
}

function stateOf(input: VolumeStatusInput, nodes: readonly string[], byNode: Map<string, LocalVolumeReplica>): { state: LocalVolumeState; message: string } {
  const { volume } = input;
  if (volume.metadata.deletionTimestamp) {
    const left = input.replicas.map((r) => r.spec.nodeName).sort();
    return { state: 'Deleting', message: left.length > 0 ? `removing the replicas on ${left.join(', ')}` : 'replicas removed' };
  }
  if (nodes.length === 0) return { state: 'Pending', message: input.pendingMessage ?? 'waiting for placement' };
  const broken: string[] = [];
  const outOfSync: string[] = [];
  const notReady: string[] = [];
  for (const node of nodes) {
    const r = byNode.get(node);
    if (input.goneNodes.has(node)) broken.push(`node ${node} was deleted from the cluster and its replica with it`);
    else if (r?.status?.state === 'Failed') broken.push(nodes.length === 1 ? r.status.message ?? `the replica on ${node} failed` : `the replica on ${node} failed: ${r.status.message ?? 'no message'}`);
    else if (!r || !r.status?.state || r.status.state === 'Creating') notReady.push(node);
    else if (r.status.synced === false && volume.spec.replicaCount > 1) outOfSync.push(node);
  }
  if (broken.length > 0 && broken.length === nodes.length) return { state: 'Failed', message: broken.join('; ') };
  if (broken.length > 0) return { state: 'Degraded', message: broken.join('; ') };
  if (outOfSync.length > 0) return { state: 'Degraded', message: `the replica on ${outOfSync.join(', ')} is out of sync` };
  if (notReady.length > 0) return { state: 'Creating', message: `creating the replica on ${notReady.join(', ')}` };
  const short = nodes.filter((n) => (byNode.get(n)?.status?.allocatedBytes ?? 0) < volume.spec.capacityBytes || byNode.get(n)?.status?.state === 'Expanding');
  if (short.length > 0) return { state: 'Expanding', message: input.expandMessage ?? `growing to ${formatCapacity(volume.spec.capacityBytes)} on ${short.join(', ')}` };
  return { state: 'Ready', message: `${nodes.length === 1 ? 'the replica is' : 'both replicas are'} ready on ${nodes.join(', ')}` };
}

function readyCondition(volume: LocalVolume, state: LocalVolumeState, message: string, now: Date): Condition {
  const previous = volume.status?.conditions?.find((c) => c.type === 'Ready');
  const status: Condition['status'] = state === 'Ready' ? 'True' : 'False';
  return {
    type: 'Ready',
    status,
    reason: state,
    message,
    // The transition time moves only when the condition's status does.
    lastTransitionTime: previous?.status === status ? previous.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, 'Z'),
    ...(volume.metadata.generation !== undefined ? { observedGeneration: volume.metadata.generation } : {}),
  };
}

/** True when writing `next` would change nothing a user sees (so a steady volume costs no writes). */
export function sameVolumeStatus(current: LocalVolumeStatus | undefined, next: LocalVolumeStatus): boolean {
  const visible = (s: LocalVolumeStatus | undefined): string => JSON.stringify([
    s?.state, s?.message, s?.capacity, s?.nodes, s?.allocatedBytes, s?.replicas ?? [],
    (s?.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration]),
  ]);
  return visible(current) === visible(next);
}
