import assert from 'node:assert/strict';
import { localVolumeReplicaName, type LocalVolume, type LocalVolumeReplica, type LocalVolumeReplicaStatus } from '../../../src/api/index.js';
import { holdsData, sameVolumeStatus, volumeStatus, type VolumeStatusInput } from '../../../src/localstorage/volume-status.js';

const Gi = 2 ** 30;
const now = new Date('2026-11-23T12:00:00.5Z');

function volume(nodes: string[], over: Partial<LocalVolume['spec']> = {}, deleting = false): LocalVolume {
  return {
    apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolume',
    metadata: { name: 'pvc-1', generation: 3, ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    spec: { poolClass: 'SSD', capacityBytes: 10 * Gi, replicaCount: nodes.length || 1, replicaNodes: nodes, ...over },
  } as LocalVolume;
}
function replica(node: string, status?: LocalVolumeReplicaStatus): LocalVolumeReplica {
  return { apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolumeReplica', metadata: { name: `pvc-1-${node}` }, spec: { volumeName: 'pvc-1', nodeName: node, poolName: 'loam-ssd', capacityBytes: 10 * Gi }, status };
}
const ready = (allocatedGi = 10, synced = true): LocalVolumeReplicaStatus => ({ state: 'Ready', allocatedBytes: allocatedGi * Gi, synced });
const status = (input: Partial<VolumeStatusInput> & { volume: LocalVolume }) => volumeStatus({ replicas: [], goneNodes: new Set(), now, ...input });

describe('volume status: aggregated from replicas', () => {
  it('is Pending with the placement message while not placed', () => {
    const s = status({ volume: volume([]), pendingMessage: 'no SSD pool has room for 50Gi: the largest has 9.5Gi free (node-3)' });
    assert.equal(s.state, 'Pending');
    assert.equal(s.message, 'no SSD pool has room for 50Gi: the largest has 9.5Gi free (node-3)');
    assert.equal(s.capacity, '10Gi');
    assert.equal(s.nodes, '');
    assert.equal(s.allocatedBytes, undefined);
    assert.deepEqual(s.conditions, [{ type: 'Ready', status: 'False', reason: 'Pending', message: s.message, lastTransitionTime: '2026-11-23T12:00:00Z', observedGeneration: 3 }]);
  });

  it('is Creating while a replica does not exist or is still Creating', () => {
    const s = status({ volume: volume(['a', 'b']), replicas: [replica('a', ready()), replica('b', { state: 'Creating' })] });
    assert.equal(s.state, 'Creating');
    assert.equal(s.message, 'creating the replica on b');
    assert.equal(status({ volume: volume(['a']) }).state, 'Creating');
    assert.deepEqual(status({ volume: volume(['a']) }).replicas, [{ name: localVolumeReplicaName('pvc-1', 'a'), nodeName: 'a', state: 'Creating', synced: false }], 'a replica not made yet: the name it will have');
  });

  it('is Ready when every replica is Ready, in sync and allocated to capacity; allocatedBytes is the smallest', () => {
    const s = status({ volume: volume(['a', 'b']), replicas: [replica('a', ready(10.5)), replica('b', ready(10))] });
    assert.equal(s.state, 'Ready');
    assert.equal(s.allocatedBytes, 10 * Gi);
    assert.equal(s.nodes, 'a,b');
    assert.equal(s.message, 'both replicas are ready on a, b');
    assert.deepEqual(s.replicas, [{ name: 'pvc-1-a', nodeName: 'a', state: 'Ready', synced: true }, { name: 'pvc-1-b', nodeName: 'b', state: 'Ready', synced: true }], 'the names the replicas have (here <volume>-<node>, as earlier versions named them)');
    assert.equal(s.conditions?.[0]?.status, 'True');
  });

  it('is Expanding when capacity grew and a replica is not there yet, with the blocking message if any', () => {
    const grown = volume(['a'], { capacityBytes: 20 * Gi });
    assert.equal(status({ volume: grown, replicas: [replica('a', ready(10))] }).state, 'Expanding');
    assert.equal(status({ volume: grown, replicas: [replica('a', ready(10))] }).message, 'growing to 20Gi on a');
    const blocked = status({ volume: grown, replicas: [replica('a', ready(10))], expandMessage: 'cannot grow to 20Gi: pool loam-ssd on a has 5Gi free, 10Gi more is needed' });
    assert.equal(blocked.message, 'cannot grow to 20Gi: pool loam-ssd on a has 5Gi free, 10Gi more is needed');
  });

  it('a single Failed replica makes the volume Failed with the replica\'s own message', () => {
    const s = status({ volume: volume(['a']), replicas: [replica('a', { state: 'Failed', message: 'lvcreate: Volume group "loam-ssd" has insufficient free space' })] });
    assert.equal(s.state, 'Failed');
    assert.equal(s.message, 'lvcreate: Volume group "loam-ssd" has insufficient free space');
  });

  it('one Failed or out-of-sync replica of two makes it Degraded; both Failed makes it Failed', () => {
    const one = status({ volume: volume(['a', 'b']), replicas: [replica('a', ready()), replica('b', { state: 'Failed', message: 'disk gone' })] });
    assert.equal(one.state, 'Degraded');
    assert.equal(one.message, 'the replica on b failed: disk gone');
    const sync = status({ volume: volume(['a', 'b']), replicas: [replica('a', ready()), replica('b', ready(10, false))] });
    assert.deepEqual([sync.state, sync.message], ['Degraded', 'the replica on b is out of sync']);
    const both = status({ volume: volume(['a', 'b']), replicas: [replica('a', { state: 'Failed', message: 'x' }), replica('b', { state: 'Failed', message: 'y' })] });
    assert.equal(both.state, 'Failed');
  });

  it('a replica on a node deleted from the cluster is Lost: Failed for one replica, Degraded for two, naming the node', () => {
    const single = status({ volume: volume(['a']), replicas: [replica('a', ready())], goneNodes: new Set(['a']) });
    assert.deepEqual([single.state, single.message], ['Failed', 'node a was deleted from the cluster and its replica with it']);
    assert.equal(single.replicas?.[0]?.state, 'Lost');
    const two = status({ volume: volume(['a', 'b']), replicas: [replica('a', ready()), replica('b', ready())], goneNodes: new Set(['b']) });
    assert.deepEqual([two.state, two.message], ['Degraded', 'node b was deleted from the cluster and its replica with it']);
  });

  it('is Deleting once the volume has a deletionTimestamp, naming the replicas still there', () => {
    const s = status({ volume: volume(['a', 'b'], {}, true), replicas: [replica('b', ready())] });
    assert.deepEqual([s.state, s.message], ['Deleting', 'removing the replicas on b']);
    assert.equal(status({ volume: volume(['a'], {}, true) }).message, 'replicas removed');
  });

  it('keeps the Ready condition\'s transition time while its status does not change, and sees no change in a repeat', () => {
    const v = volume(['a']);
    const first = status({ volume: v, replicas: [replica('a', { state: 'Creating' })] });
    const later = volumeStatus({ volume: { ...v, status: first }, replicas: [replica('a', { state: 'Creating' })], goneNodes: new Set(), now: new Date('2026-11-23T13:00:00Z') });
    assert.equal(later.conditions?.[0]?.lastTransitionTime, '2026-11-23T12:00:00Z');
    assert.ok(sameVolumeStatus(first, later));
    const done = volumeStatus({ volume: { ...v, status: first }, replicas: [replica('a', ready())], goneNodes: new Set(), now: new Date('2026-11-23T13:00:00Z') });
    assert.equal(done.conditions?.[0]?.lastTransitionTime, '2026-11-23T13:00:00Z');
    assert.ok(!sameVolumeStatus(first, done));
  });

  it('records when the volume first became Ready, and keeps that time afterwards', () => {
    const v = volume(['a']);
    const first = status({ volume: v, replicas: [replica('a', ready())] });
    assert.equal(first.firstReadyTime, '2026-11-23T12:00:00Z');
    const later = volumeStatus({ volume: { ...v, status: first }, replicas: [replica('a', ready(10))], goneNodes: new Set(), now: new Date('2026-11-24T00:00:00Z'), expandMessage: undefined });
    assert.equal(later.firstReadyTime, '2026-11-23T12:00:00Z');
    const creating = status({ volume: v, replicas: [replica('a', { state: 'Creating' })] });
    assert.equal(creating.firstReadyTime, undefined, 'not before it is Ready');
  });

  it('holds data once it was Ready (or an earlier version reported it Ready or Expanding), or while a PersistentVolume names it', () => {
    assert.equal(holdsData(volume(['a']), false), false);
    assert.equal(holdsData({ ...volume(['a']), status: { state: 'Creating', firstReadyTime: '2026-11-23T12:00:00Z' } }, false), true);
    assert.equal(holdsData({ ...volume(['a']), status: { state: 'Ready' } }, false), true);
    assert.equal(holdsData({ ...volume(['a']), status: { state: 'Expanding' } }, false), true);
    assert.equal(holdsData(volume(['a']), true), true);
  });

  it('a replica gone from a volume that held data is not made again: Failed for one replica, Degraded for two, saying what happened and what to do', () => {
    const once = { ...volume(['a']), status: { state: 'Ready' as const, firstReadyTime: '2026-11-23T12:00:00Z' } };
    const single = status({ volume: once, replicas: [], holdsData: true });
    assert.equal(single.state, 'Failed');
    assert.match(single.message!, /^the replica on a \(LocalVolumeReplica [^)]+\) is gone although the volume held data: Loam does not make it again empty\. /);
    assert.match(single.message!, /LocalStorageNode a status\.unownedVolumes/);
    assert.match(single.message!, /delete the PersistentVolumeClaim/);
    assert.equal(single.conditions?.[0]?.reason, 'ReplicaGone');
    assert.equal(single.replicas?.[0]?.state, 'Gone');
    const two = status({ volume: { ...volume(['a', 'b']), status: once.status }, replicas: [replica('a', ready())], holdsData: true });
    assert.equal(two.state, 'Degraded');
    assert.match(two.message!, /^the replica on b \(LocalVolumeReplica [^)]+\) is gone although/);
    assert.equal(two.conditions?.[0]?.reason, 'ReplicaGone');
    assert.equal(status({ volume: volume(['a']), replicas: [] }).state, 'Creating', 'a volume that never held data gets its replica');
  });

  it('a replica deleted by hand while the volume uses it is held by its node agent: the volume is Degraded and says so', () => {
    const held = { ...replica('a', { ...ready(), message: 'deleted by hand' }), metadata: { name: 'pvc-1-a', deletionTimestamp: new Date() } } as LocalVolumeReplica;
    const s = status({ volume: volume(['a']), replicas: [held], holdsData: true });
    assert.equal(s.state, 'Degraded');
    assert.match(s.message!, /^LocalVolumeReplica pvc-1-a on a was deleted by hand while the volume uses it: its node agent keeps the LV and the data/);
    assert.equal(s.conditions?.[0]?.reason, 'ReplicaDeletionHeld');
  });

  it('a volume whose deletion waits for its PersistentVolume says why', () => {
    const s = status({ volume: volume(['a'], {}, true), replicas: [replica('a', ready())], deletionHeld: 'PersistentVolume pvc-1 is Bound' });
    assert.deepEqual([s.state, s.message, s.conditions?.[0]?.reason], ['Deleting', 'PersistentVolume pvc-1 is Bound', 'DeletionHeld']);
  });
});
