import assert from 'node:assert/strict';
import { coreResources, resourcePath } from '../../../src/kube/index.js';
import { createReadyNode } from '../../../tools/testenv/nodes.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { clients, startController, stopController, suffix, type RunningController } from '../ldm-claims/support.js';
import { controlPlane } from '../setup.js';
import { agentReady, cleanup, createStorageNode, createVolume, Gi, replicasOf, waitForVolume } from './support.js';

describe('loam-controller places volumes (a real process)', function () {
  this.timeout(60_000);
  const run = suffix();
  let c: ReturnType<typeof clients>;
  let controller: RunningController;
  let stopped = false;
  const volumes: string[] = [];
  const storageNodes: string[] = [];

  before(() => {
    c = clients();
    controller = startController(['--leader-elect', 'false', '--node-grace-seconds', '600']);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`loam-controller log tail:\n${controller.stderr().split('\n').slice(-30).join('\n')}`);
  });

  after(async () => {
    await cleanup(c, volumes, storageNodes);
    await c.rest.request('DELETE', resourcePath(coreResources.nodes, undefined, `proc-a-${run}`)).catch(() => undefined);
    if (!stopped) await stopController(controller);
  });

  it('with --leader-elect false: places a LocalVolume, creates its replica and reports it Ready once the node agent has made the LV', async () => {
    const node = `proc-a-${run}`;
    await createReadyNode(controlPlane().kubeConfig(), node);
    storageNodes.push(node);
    await createStorageNode(c, node, [{ mediaClass: 'NVMe', freeBytes: 100 * Gi }]);
    const name = `pvc-proc-${run}`;
    volumes.push(name);
    await createVolume(c, name, { poolClass: 'NVMe', capacityBytes: 3 * Gi, replicaCount: 1, pvcRef: { namespace: 'default', name: 'data' } });
    const placed = await waitForVolume(c, name, 'placed', (v) => v.spec.replicaNodes?.[0] === node);
    assert.deepEqual(placed.metadata.finalizers, ['loam.io/protect']);
    await waitFor('its replica', async () => (await replicasOf(c, name)).length === 1, 10_000);
    const [replica] = await replicasOf(c, name);
    assert.equal(replica!.spec.poolName, 'loam-nvme');
    await agentReady(c, replica!.metadata.name!, 3 * Gi);
    const ready = await waitForVolume(c, name, 'Ready', (v) => v.status?.state === 'Ready');
    assert.equal(ready.status?.capacity, '3Gi');
    assert.equal(ready.status?.nodes, node);
  });

  it('as the elected leader: places a volume in the same term as the claim binder', async () => {
    stopped = true;
    await stopController(controller);
    const leader = startController(['--lease-name', `placement-${run}`]);
    try {
      const node = `proc-a-${run}`;
      const name = `pvc-proc-leader-${run}`;
      volumes.push(name);
      await createVolume(c, name, { poolClass: 'NVMe', capacityBytes: 1 * Gi, replicaCount: 1 });
      await waitForVolume(c, name, 'placed by the leader', (v) => v.spec.replicaNodes?.[0] === node);
      await waitFor('its replica', async () => (await replicasOf(c, name)).length === 1, 10_000);
      const lease = await controlPlane().kubectl(['get', 'lease', '-n', 'loam-system', `placement-${run}`, '-o', 'jsonpath={.spec.holderIdentity}']);
      assert.notEqual(lease.stdout, '', 'a leader holds the Lease');
    } finally {
      await stopController(leader);
    }
  });
});
