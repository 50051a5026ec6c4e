import assert from 'node:assert/strict';
import { nodeLabelValue } from '../../../src/api/index.js';
import { filterNodes } from '../../../src/scheduler-plugin/filter.js';
import { Reservations } from '../../../src/scheduler-plugin/reservations.js';
import { scoreNodes } from '../../../src/scheduler-plugin/score.js';
import { Gi, MapView, podWith } from './fixture.js';

describe('extender filter', () => {
  let view: MapView;
  let reservations: Reservations;
  let clock: number;
  beforeEach(() => {
    clock = 1_000_000;
    reservations = new Reservations(30_000, () => clock);
    view = new MapView()
      .addClass('loam-ssd', 'SSD')
      .addClass('loam-ssd-ha', 'SSD', '2')
      .addNode('n1', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 4 }])
      .addNode('n2', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 9 }])
      .addNode('n3', [{ mediaClass: 'HDD', totalGi: 100, freeGi: 100 }]);
  });

  it('lets a pod without Loam claims through untouched', () => {
    const r = filterNodes(podWith('plain', []), ['n1', 'n2', 'x'], view, reservations);
    assert.deepEqual(r.NodeNames, ['n1', 'n2', 'x']);
    assert.deepEqual(r.FailedNodes, {});
  });

  it('allows only nodes whose pool of the class has room for the sum of the pod\'s claims, with a reason for each other node', () => {
    for (const c of ['a', 'b', 'c']) view.addClaim('default', c, 'loam-ssd', '2Gi');
    const r = filterNodes(podWith('p', ['a', 'b', 'c']), ['n1', 'n2', 'n3', 'n4'], view, reservations);
    assert.deepEqual(r.NodeNames, ['n2']);
    assert.equal(r.FailedNodes.n1, 'loam: SSD pool has 4Gi free; the pod needs 6Gi for 3 claims');
    assert.equal(r.FailedNodes.n3, 'loam: the node has no SSD pool');
    assert.equal(r.FailedNodes.n4, 'loam: Loam storage does not run on this node (no LocalStorageNode)');
  });

  it('turns away a node whose storage is not Ready', () => {
    view.addNode('n1', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 10 }], 'NotReady');
    view.addClaim('default', 'a', 'loam-ssd', '1Gi');
    const r = filterNodes(podWith('p', ['a']), ['n1'], view, reservations);
    assert.equal(r.FailedNodes.n1, 'loam: Loam storage on this node is NotReady');
  });

  it('counts replicas already placed on a node even before the node reports them', () => {
    // n2: 10Gi VG, 9Gi free: 1Gi is held by something that is not a Loam replica; the 7Gi replica
    // has no LV yet, so it is not in the 9Gi: 9 − 7 = 2Gi (placement counts the same; room-agreement.test.ts).
    view.replicas.push({ spec: { volumeName: 'pvc-x', nodeName: 'n2', poolName: 'loam-ssd', capacityBytes: 7 * Gi } });
    view.addClaim('default', 'a', 'loam-ssd', '5Gi');
    const r = filterNodes(podWith('p', ['a']), ['n2'], view, reservations);
    assert.equal(r.FailedNodes.n2, 'loam: SSD pool has 2Gi free; the pod needs 5Gi for 1 claim');
  });

  it('reserves what a passing pod needs so the next pod cannot take the same bytes, until the volume exists', () => {
    view.addClaim('default', 'a', 'loam-ssd', '3Gi');
    view.addClaim('default', 'b', 'loam-ssd', '3Gi');
    assert.deepEqual(filterNodes(podWith('p1', ['a']), ['n1'], view, reservations).NodeNames, ['n1']);
    const second = filterNodes(podWith('p2', ['b']), ['n1'], view, reservations);
    assert.equal(second.FailedNodes.n1, 'loam: SSD pool has 1Gi free (3Gi more is reserved for pods being placed); the pod needs 3Gi for 1 claim');
    // Filtering the same pod again replaces its own reservation instead of counting it twice.
    assert.deepEqual(filterNodes(podWith('p1', ['a']), ['n1'], view, reservations).NodeNames, ['n1']);
    // Once the LocalVolume of claim a exists, its replicas count and the reservation no longer does.
    view.volumes.set('pvc-uid-a', { metadata: { name: 'pvc-uid-a' } });
    assert.deepEqual(filterNodes(podWith('p2', ['b']), ['n1'], view, reservations).NodeNames, ['n1']);
  });

  it('narrows a reservation to the selected node, keeps it there until the volume exists, and expires unannotated ones', () => {
    const a = view.addClaim('default', 'a', 'loam-ssd', '4Gi');
    view.addClaim('default', 'b', 'loam-ssd', '4Gi');
    filterNodes(podWith('p1', ['a']), ['n1', 'n2'], view, reservations);
    assert.deepEqual(filterNodes(podWith('p2', ['b']), ['n1', 'n2'], view, reservations).NodeNames, ['n2']);
    a.metadata!.annotations!['volume.kubernetes.io/selected-node'] = 'n2';
    assert.deepEqual(filterNodes(podWith('p2', ['b']), ['n1', 'n2'], view, reservations).NodeNames, ['n1', 'n2']);
    clock += 31_000;
    reservations.refresh(view);
    assert.equal(reservations.reservedBytes('n1', 'SSD', view), 0, 'the pending reservation of p2 expired');
    assert.equal(reservations.reservedBytes('n2', 'SSD', view), 4 * Gi, 'claim a still holds its bytes on its selected node');
    view.volumes.set('pvc-uid-a', { metadata: { name: 'pvc-uid-a' } });
    assert.equal(reservations.reservedBytes('n2', 'SSD', view), 0, 'the volume of claim a exists: its replica counts instead');
  });

  it('needs a second node with room for two-replica claims', () => {
    view.addClaim('default', 'ha', 'loam-ssd-ha', '5Gi');
    const r = filterNodes(podWith('p', ['ha']), ['n2'], view, reservations);
    assert.equal(r.FailedNodes.n2, 'loam: no other node has 5Gi free in a SSD pool for the second replica');
    view.addNode('n4', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 6 }]);
    assert.deepEqual(filterNodes(podWith('p', ['ha']), ['n2'], view, reservations).NodeNames, ['n2']);
  });

  it('allows a bound claim only on the nodes holding its replicas, and says where the data is', () => {
    view.addClaim('default', 'data', 'loam-ssd', '1Gi', { volumeName: 'pv-1' });
    view.pvs.set('pv-1', { metadata: { name: 'pv-1' }, spec: { csi: { driver: 'lvm.loam.io', volumeHandle: 'pvc-1' } } });
    view.volumes.set('pvc-1', { metadata: { name: 'pvc-1' }, spec: { replicaNodes: ['n1', 'n3'] }, status: { replicas: [{ nodeName: 'n1', synced: false }, { nodeName: 'n3', synced: true }] } });
    const r = filterNodes(podWith('p', ['data']), ['n1', 'n2', 'n3'], view, reservations);
    assert.deepEqual(r.NodeNames, ['n1', 'n3']);
    assert.equal(r.FailedAndUnresolvableNodes.n2, 'loam: volume pvc-1 of claim default/data lives on n1, n3');
    const scores = scoreNodes(podWith('p', ['data']), ['n1', 'n3'], view, reservations, 'binpack');
    assert.deepEqual(scores, [{ Host: 'n1', Score: 5 }, { Host: 'n3', Score: 10 }]);
  });

  it('a bound claim whose LocalVolume is not cached yet goes where its PV\'s topology says, a long node name included', () => {
    const long = `worker-17.${'rack-4.'.repeat(8)}storage.example.com`;
    view.addNode(long, [{ mediaClass: 'SSD', totalGi: 10, freeGi: 9 }]);
    view.addClaim('default', 'data', 'loam-ssd', '1Gi', { volumeName: 'pv-1' });
    const affinity = { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.loam.io/node', operator: 'In', values: [nodeLabelValue(long)] }] }] } };
    view.pvs.set('pv-1', { metadata: { name: 'pv-1' }, spec: { csi: { driver: 'lvm.loam.io', volumeHandle: 'pvc-1' }, nodeAffinity: affinity } });
    assert.deepEqual(filterNodes(podWith('p', ['data']), ['n1', long], view, reservations).NodeNames, [long]);
  });

  it('fails every node with the reason when a claim is missing or its class is invalid', () => {
    let r = filterNodes(podWith('p', ['nope']), ['n1'], view, reservations);
    assert.equal(r.FailedNodes.n1, 'loam: persistentvolumeclaim "default/nope" not found');
    view.addClass('bad', 'SSD', '3');
    view.addClaim('default', 'x', 'bad', '1Gi');
    r = filterNodes(podWith('p', ['x']), ['n1'], view, reservations);
    assert.equal(r.FailedNodes.n1, 'loam: storageclass "bad" has replicaCount "3"; use "1" or "2"');
  });
});

describe('extender prioritize', () => {
  it('binpack prefers the fuller node, spread the emptier one', () => {
    const view = new MapView().addClass('loam-ssd', 'SSD')
      .addNode('full', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 3 }])
      .addNode('empty', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 10 }]);
    view.addClaim('default', 'a', 'loam-ssd', '1Gi');
    const pod = podWith('p', ['a']);
    const binpack = scoreNodes(pod, ['full', 'empty'], view, new Reservations(), 'binpack');
    const spread = scoreNodes(pod, ['full', 'empty'], view, new Reservations(), 'spread');
    assert.deepEqual(binpack, [{ Host: 'full', Score: 8 }, { Host: 'empty', Score: 1 }]);
    assert.deepEqual(spread, [{ Host: 'full', Score: 2 }, { Host: 'empty', Score: 9 }]);
  });
});
