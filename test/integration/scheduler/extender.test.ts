import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import type { InformerView } from '../../../src/scheduler-plugin/cache-view.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { controlPlane } from '../setup.js';
import { ExtenderCluster, type SchedulerFixture } from './cluster.js';

const scheduler = 'loam-scheduler';
const ssd = 'loam-test-ssd';

describe('loam-scheduler: the real kube-scheduler with the Loam extender', function () {
  this.timeout(120_000);
  let cluster: ExtenderCluster | undefined;
  let view: InformerView;
  let fx: SchedulerFixture;

  before(async () => {
    cluster = await ExtenderCluster.start(ssd);
    ({ view, fx } = cluster);
  });

  after(async () => cluster?.stop());

  afterEach(async () => fx.cleanup());

  it('places a pod only on a node whose pool of the class has room', async () => {
    await fx.storageNode('room-small', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 2 }]);
    await fx.storageNode('room-big', [{ mediaClass: 'SSD', totalGi: 20, freeGi: 10 }]);
    await fx.storageNode('room-hdd', [{ mediaClass: 'HDD', totalGi: 100, freeGi: 100 }]);
    const ns = await fx.namespace('sched-room');
    await fx.claim(ns, 'data', ssd, '5Gi');
    await fx.pod(ns, 'app', ['data'], scheduler);
    await waitFor('the claim to get a node', async () => (await fx.selectedNode(ns, 'data')) !== undefined, 30_000);
    assert.equal(await fx.selectedNode(ns, 'data'), 'room-big');
  });

  it('needs room for the sum of a pod\'s claims of one class', async () => {
    await fx.storageNode('sum-8', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 8 }]);
    await fx.storageNode('sum-10', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 10 }]);
    const ns = await fx.namespace('sched-sum');
    for (const c of ['a', 'b', 'c']) await fx.claim(ns, c, ssd, '3Gi');
    await fx.pod(ns, 'app', ['a', 'b', 'c'], scheduler);
    await waitFor('the claims to get a node', async () => (await fx.selectedNode(ns, 'c')) !== undefined, 30_000);
    for (const c of ['a', 'b', 'c']) assert.equal(await fx.selectedNode(ns, c), 'sum-10');
  });

  it('never gives a node more than its pool holds when 30 pods arrive at once', async () => {
    for (const n of ['burst-1', 'burst-2', 'burst-3']) await fx.storageNode(n, [{ mediaClass: 'SSD', totalGi: 8, freeGi: 4 }]);
    const ns = await fx.namespace('sched-burst');
    await Promise.all(Array.from({ length: 30 }, (_, i) => fx.claim(ns, `c${i}`, ssd, '1Gi')));
    await Promise.all(Array.from({ length: 30 }, (_, i) => fx.pod(ns, `p${i}`, [`c${i}`], scheduler)));
    const placed = async (): Promise<Map<string, number>> => {
      const counts = new Map<string, number>();
      for (const pvc of (await fx.core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items) {
        const node = pvc.metadata?.annotations?.['volume.kubernetes.io/selected-node'];
        if (node) counts.set(node, (counts.get(node) ?? 0) + 1);
      }
      return counts;
    };
    await waitFor('12 of the 30 claims to be placed', async () => [...(await placed()).values()].reduce((a, b) => a + b, 0) >= 12, 60_000);
    // Give the scheduler time to retry the other 18 pods: none may fit anywhere.
    await new Promise((r) => setTimeout(r, 5000));
    const counts = await placed();
    assert.deepEqual([...counts.entries()].sort(), [['burst-1', 4], ['burst-2', 4], ['burst-3', 4]]);
  });

  it('keeps a pod Pending with the extender\'s reason when no node has room', async () => {
    await fx.storageNode('full-1', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 1 }]);
    const ns = await fx.namespace('sched-full');
    await fx.claim(ns, 'huge', ssd, '50Gi');
    await fx.pod(ns, 'app', ['huge'], scheduler);
    const message = await fx.loamFailure(ns, 'app');
    assert.match(message, /loam: SSD pool has 1Gi free; the pod needs 50Gi for 1 claim/);
    const pod = await fx.core.readNamespacedPod({ namespace: ns, name: 'app' });
    assert.equal(pod.status?.phase, 'Pending');
    assert.equal(pod.spec?.nodeName, undefined);
  });

  it('keeps new volumes off a node whose agent stopped reporting, says why, and uses it again once it reports', async () => {
    // binpack would pick the silent node (fuller after placement): only its stale heartbeat keeps the pod off it.
    await fx.storageNode('silent', [{ mediaClass: 'SSD', totalGi: 100, freeGi: 30 }], new Date(Date.now() - 5 * 60_000));
    await fx.storageNode('live', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 8 }]);
    const ns = await fx.namespace('sched-silent');
    await fx.claim(ns, 'data', ssd, '2Gi');
    await fx.pod(ns, 'app', ['data'], scheduler);
    await waitFor('the claim to get a node', async () => (await fx.selectedNode(ns, 'data')) !== undefined, 30_000);
    assert.equal(await fx.selectedNode(ns, 'data'), 'live');
    // Only the silent node has room for 20Gi: the pod waits, and its event says why.
    await fx.claim(ns, 'big', ssd, '20Gi');
    await fx.pod(ns, 'big-app', ['big'], scheduler);
    const message = await fx.loamFailure(ns, 'big-app');
    assert.match(message, /loam: Loam's node agent last reported 5m\d+s ago \(a node is stale after 1m30s without a heartbeat\); no new volumes go to this node until it reports again/);
    assert.equal(await fx.selectedNode(ns, 'big'), undefined);
    // The agent reports again; a change to the Node makes kube-scheduler try the pod again at once.
    await fx.heartbeat('silent');
    await waitFor('the fresh heartbeat in the extender cache', () => view.storageNode('silent')?.status?.lastHeartbeatTime !== undefined
      && Date.now() - Date.parse(view.storageNode('silent')!.status!.lastHeartbeatTime!) < 60_000, 10_000);
    await fx.core.patchNode({ name: 'silent', body: { metadata: { labels: { 'loam.io/test-touch': '1' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await waitFor('the big claim to get the node that reports again', async () => (await fx.selectedNode(ns, 'big')) === 'silent', 30_000);
  });

  it('counts a replica or a placed volume that appears on a node in the next request (the room memo forgets the node)', async () => {
    await fx.storageNode('memo-1', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 10 }]);
    const ns = await fx.namespace('sched-memo');
    await fx.claim(ns, 'data', ssd, '8Gi');
    await waitFor('the claim and node in the extender cache', () => view.claim(ns, 'data') !== undefined && view.storageNode('memo-1') !== undefined, 10_000);
    const pod = { metadata: { name: 'app', namespace: ns, uid: 'memo-pod' }, spec: { containers: [{ name: 'c', image: 'x' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] } };
    const filter = (): string | undefined => {
      const r = cluster!.extender.filter({ Pod: pod, NodeNames: ['memo-1'] });
      return r.NodeNames.includes('memo-1') ? undefined : r.FailedNodes['memo-1'];
    };
    assert.equal(filter(), undefined, 'room for 8Gi');
    await fx.custom.createClusterCustomObject({
      group: 'loam.io', version: 'v1alpha1', plural: 'localvolumereplicas',
      body: { apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolumeReplica', metadata: { name: 'pvc-memo-a-memo-1' }, spec: { volumeName: 'pvc-memo-a', nodeName: 'memo-1', poolName: 'loam-ssd', capacityBytes: 3 * 2 ** 30 } },
    });
    await waitFor('the replica in the extender cache', () => view.replicasOnNode('memo-1').length === 1, 10_000);
    assert.equal(filter(), 'loam: SSD pool has 7Gi free; the pod needs 8Gi for 1 claim');
    await fx.custom.createClusterCustomObject({
      group: 'loam.io', version: 'v1alpha1', plural: 'localvolumes',
      body: { apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolume', metadata: { name: 'pvc-memo-b' }, spec: { poolClass: 'SSD', capacityBytes: 2 * 2 ** 30, replicaCount: 1, replicaNodes: ['memo-1'] } },
    });
    await waitFor('the volume in the extender cache', () => view.volumesPlacedOn('memo-1').length === 1, 10_000);
    assert.equal(filter(), 'loam: SSD pool has 5Gi free; the pod needs 8Gi for 1 claim');
    await fx.custom.deleteClusterCustomObject({ group: 'loam.io', version: 'v1alpha1', plural: 'localvolumereplicas', name: 'pvc-memo-a-memo-1' });
    await fx.custom.deleteClusterCustomObject({ group: 'loam.io', version: 'v1alpha1', plural: 'localvolumes', name: 'pvc-memo-b' });
    await waitFor('both gone from the extender cache', () => view.replicasOnNode('memo-1').length === 0 && view.volumesPlacedOn('memo-1').length === 0, 10_000);
    assert.equal(filter(), undefined, 'room again');
  });

  it('places a pod whose claim is bound on the node that holds the replica', async () => {
    const cp = controlPlane();
    await cp.startControllerManager();
    try {
      for (const n of ['bound-1', 'bound-2', 'bound-3']) await fx.storageNode(n, [{ mediaClass: 'SSD', totalGi: 10, freeGi: 10 }]);
      const ns = await fx.namespace('sched-bound');
      const volume = 'pvc-bound-test';
      await fx.custom.createClusterCustomObject({
        group: 'loam.io', version: 'v1alpha1', plural: 'localvolumes',
        body: { apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolume', metadata: { name: volume }, spec: { poolClass: 'SSD', capacityBytes: 2 ** 30, replicaCount: 1, replicaNodes: ['bound-2'] } },
      });
      await fx.core.createPersistentVolume({
        body: {
          metadata: { name: volume },
          spec: {
            capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: ssd, persistentVolumeReclaimPolicy: 'Retain',
            claimRef: { namespace: ns, name: 'data' },
            csi: { driver: 'lvm.loam.io', volumeHandle: volume },
            nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.loam.io/node', operator: 'In', values: ['bound-2'] }] }] } },
          },
        },
      });
      await fx.claim(ns, 'data', ssd, '1Gi');
      await waitFor('the claim to be Bound by the PV controller', async () => (await fx.core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'data' })).status?.phase === 'Bound', 30_000);
      await fx.pod(ns, 'app', ['data'], scheduler);
      let node: string | undefined;
      await waitFor('the pod to be bound to a node', async () => {
        node = (await fx.core.readNamespacedPod({ namespace: ns, name: 'app' })).spec?.nodeName;
        return node !== undefined;
      }, 30_000);
      assert.equal(node, 'bound-2');
      await fx.custom.deleteClusterCustomObject({ group: 'loam.io', version: 'v1alpha1', plural: 'localvolumes', name: volume });
      await fx.core.deletePersistentVolume({ name: volume });
    } finally {
      await cp.stopControllerManager();
    }
  });
});

