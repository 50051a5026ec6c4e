import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import type { LocalStorageNode, LocalVolume, LocalVolumeReplica } from '../../../src/api/index.js';
import { capacityOf } from '../../../src/csi/controller-capacity.js';
import { decodeListToken, encodeListToken, pageOf } from '../../../src/csi/controller-list.js';
import { creationOutcome, csiVolumeOf, volumeConditionOf } from '../../../src/csi/controller-responses.js';
import { CsiError } from '../../../src/csi/errors.js';

const Gi = 2 ** 30;

function volume(name: string, extra: { replicaNodes?: string[]; status?: LocalVolume['status']; capacityBytes?: number } = {}): LocalVolume {
  return {
    apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolume',
    metadata: { name, generation: 1, annotations: { 'loam.io/fstype': 'xfs' } },
    spec: { poolClass: 'SSD', capacityBytes: extra.capacityBytes ?? Gi, replicaCount: 1, ...(extra.replicaNodes ? { replicaNodes: extra.replicaNodes } : {}) },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

function storageNode(name: string, pools: Array<{ mediaClass: 'SSD' | 'HDD'; freeBytes: number; totalBytes: number }>, state: 'Ready' | 'NotReady' = 'Ready'): LocalStorageNode {
  return {
    apiVersion: 'loam.io/v1alpha1', kind: 'LocalStorageNode', metadata: { name }, spec: { nodeName: name },
    status: { state, lastHeartbeatTime: new Date().toISOString(), pools: pools.map((p) => ({ name: `loam-${p.mediaClass.toLowerCase()}`, vgName: `loam-${p.mediaClass.toLowerCase()}`, ...p })) },
  };
}

describe('csi ListVolumes paging', () => {
  const all = ['pvc-a', 'pvc-b', 'pvc-c', 'pvc-d', 'pvc-e'].map((n) => volume(n));

  it('pages through every volume once, in order', () => {
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = pageOf(all, 2, token);
      seen.push(...page.volumes.map((v) => v.metadata.name!));
      token = page.nextToken;
      pages++;
    } while (token);
    assert.deepEqual(seen, ['pvc-a', 'pvc-b', 'pvc-c', 'pvc-d', 'pvc-e']);
    assert.equal(pages, 3);
    assert.equal(pageOf(all, 0, '').volumes.length, 5, 'max_entries 0: all');
  });

  it('does not skip a volume when one already listed is deleted between pages', () => {
    const first = pageOf(all, 2, '');
    const second = pageOf(all.filter((v) => v.metadata.name !== 'pvc-b'), 2, first.nextToken);
    assert.deepEqual(second.volumes.map((v) => v.metadata.name), ['pvc-c', 'pvc-d']);
  });

  it('refuses a token it did not give out with ABORTED, and a negative max_entries', () => {
    assert.equal(decodeListToken(encodeListToken('pvc-c')), 'pvc-c');
    for (const bad of ['garbage!', 'Zm9v']) {
      assert.throws(() => pageOf(all, 2, bad), (err: unknown) => err instanceof CsiError && err.code === status.ABORTED);
    }
    assert.throws(() => pageOf(all, -1, ''), (err: unknown) => err instanceof CsiError && err.code === status.INVALID_ARGUMENT);
  });
});

describe('csi volume views', () => {
  it('shows a volume as CSI does: allocated size, context, one topology segment per replica', () => {
    const v = volume('pvc-1', { replicaNodes: ['n1', 'n2'], status: { state: 'Ready', allocatedBytes: Gi + 4 * 2 ** 20 } });
    assert.deepEqual(csiVolumeOf(v), {
      volume_id: 'pvc-1', capacity_bytes: Gi + 4 * 2 ** 20,
      volume_context: { poolClass: 'SSD', replicaCount: '1', fstype: 'xfs' },
      accessible_topology: [{ segments: { 'topology.loam.io/node': 'n1' } }, { segments: { 'topology.loam.io/node': 'n2' } }],
    });
  });

  it('reports Degraded and Failed volumes as abnormal, with the message', () => {
    assert.deepEqual(volumeConditionOf(volume('a', { status: { state: 'Ready' } })), { abnormal: false, message: 'Ready' });
    assert.deepEqual(volumeConditionOf(volume('a', { status: { state: 'Degraded', message: 'the replica on n2 is out of sync' } })), { abnormal: true, message: 'Degraded: the replica on n2 is out of sync' });
    assert.equal(volumeConditionOf(volume('a', { status: { state: 'Failed' } })).abnormal, true);
  });

  it('tells where a new volume stands', () => {
    assert.equal(creationOutcome(volume('a')).kind, 'waiting');
    assert.equal(creationOutcome(volume('a', { status: { state: 'Pending', message: 'waiting for placement' } })).kind, 'waiting');
    assert.deepEqual(creationOutcome(volume('a', { status: { state: 'Pending', message: 'no SSD pool has room for 1Gi: the largest has 512Mi free (n1)' } })), { kind: 'no-room', message: 'no SSD pool has room for 1Gi: the largest has 512Mi free (n1)' });
    assert.equal(creationOutcome(volume('a', { replicaNodes: ['n1'], status: { state: 'Creating' } })).kind, 'waiting');
    assert.equal(creationOutcome(volume('a', { replicaNodes: ['n1'], status: { state: 'Ready' } })).kind, 'ready');
    assert.equal(creationOutcome(volume('a', { replicaNodes: ['n1'], status: { state: 'Failed', message: 'lvcreate failed' } })).kind, 'failed');
    const stale = volume('a', { replicaNodes: ['n1'], status: { state: 'Ready', conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: '', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }] } });
    stale.metadata.generation = 2;
    assert.equal(creationOutcome(stale).kind, 'waiting', 'a status of an older spec does not count');
  });
});

describe('csi GetCapacity', () => {
  const nodes = [storageNode('n1', [{ mediaClass: 'SSD', freeBytes: 10 * Gi, totalBytes: 20 * Gi }, { mediaClass: 'HDD', freeBytes: 100 * Gi, totalBytes: 100 * Gi }]), storageNode('n2', [{ mediaClass: 'SSD', freeBytes: 4 * Gi, totalBytes: 4 * Gi }]), storageNode('n3', [{ mediaClass: 'SSD', freeBytes: 50 * Gi, totalBytes: 50 * Gi }], 'NotReady')];
  // A replica on n1 whose LV is not there yet (allocated 0): its 3 GiB are promised, not free.
  const replicas: LocalVolumeReplica[] = [{
    apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolumeReplica', metadata: { name: 'pvc-x-n1' },
    spec: { volumeName: 'pvc-x', nodeName: 'n1', poolName: 'loam-ssd', capacityBytes: 3 * Gi },
  }];
  const sources = {
    storageNode: (n: string) => nodes.find((s) => s.metadata.name === n),
    storageNodeNames: () => nodes.map((s) => s.metadata.name!),
    replicasOnNode: (n: string) => replicas.filter((r) => r.spec.nodeName === n),
    volumesPlacedOn: () => [],
  };

  it('per node and class: free bytes minus what is promised to replicas not yet made', () => {
    assert.deepEqual(capacityOf({ nodeName: 'n1', poolClass: 'SSD' }, sources), { availableBytes: 7 * Gi, maximumVolumeBytes: 7 * Gi });
    assert.deepEqual(capacityOf({ nodeName: 'n2', poolClass: 'SSD' }, sources), { availableBytes: 4 * Gi, maximumVolumeBytes: 4 * Gi });
  });

  it('0 for a NotReady node, an unknown node, or a node without that class', () => {
    assert.equal(capacityOf({ nodeName: 'n3', poolClass: 'SSD' }, sources).availableBytes, 0);
    assert.equal(capacityOf({ nodeName: 'nope', poolClass: 'SSD' }, sources).availableBytes, 0);
    assert.equal(capacityOf({ nodeName: 'n2', poolClass: 'HDD' }, sources).availableBytes, 0);
  });

  it('without a segment: the total over nodes; the maximum volume is the largest pool', () => {
    assert.deepEqual(capacityOf({ poolClass: 'SSD' }, sources), { availableBytes: 11 * Gi, maximumVolumeBytes: 7 * Gi });
    assert.deepEqual(capacityOf({}, sources), { availableBytes: 111 * Gi, maximumVolumeBytes: 100 * Gi });
  });
});
