import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { coreResources, resourcePath, type KubeClients } from '../../../src/kube/index.js';
import { VolumePlacer } from '../../../src/localstorage/volume-placer.js';
import { createReadyNode } from '../../../tools/testenv/nodes.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { clients, suffix } from '../ldm-claims/support.js';
import { agentReady, agentRemoved, cleanup, createStorageNode, getVolume, replicasOf } from '../localstorage-placement/support.js';
import { controlPlane } from '../setup.js';
import { createRequest, CsiTestClient, Gi, grpcError, startControllerEndpoint, topo } from './support.js';

describe('csi controller with the real VolumePlacer in-process (the test plays the node agents)', function () {
  this.timeout(60_000);
  const run = suffix();
  let c: KubeClients;
  let placer: VolumePlacer;
  let client: CsiTestClient;
  let endpoint: Awaited<ReturnType<typeof startControllerEndpoint>>;
  const volumes: string[] = [];
  const storageNodes: string[] = [];
  const nodes: string[] = [];

  before(async () => {
    c = clients();
    placer = new VolumePlacer({ clients: c, identity: `csi-test-${run}` });
    await placer.start();
    endpoint = await startControllerEndpoint(c, 20_000);
    client = endpoint.client;
    for (const [n, free] of [['a', 10], ['b', 20]] as const) {
      const name = `csi-${n}-${run}`;
      nodes.push(name);
      storageNodes.push(name);
      await createReadyNode(controlPlane().kubeConfig(), name);
      await createStorageNode(c, name, [{ mediaClass: 'SSD', freeBytes: free * Gi }]);
    }
  });

  after(async () => {
    await endpoint.stop();
    await cleanup(c, volumes, storageNodes);
    await placer.stop();
    for (const n of nodes) await c.rest.request('DELETE', resourcePath(coreResources.nodes, undefined, n)).catch(() => undefined);
  });

  it('CreateVolume → placement on the preferred node → replica Ready → topology of that node; DeleteVolume waits for the LV removal', async () => {
    const [a, b] = nodes as [string, string];
    const id = `pvc-placed-${run}`;
    volumes.push(id);
    const created = client.call<{ volume: { accessible_topology: unknown[]; capacity_bytes: string } }>('Controller', 'CreateVolume', createRequest(id, {
      capacity_range: { required_bytes: 2 * Gi },
      accessibility_requirements: { requisite: [topo(a), topo(b)], preferred: [topo(a), topo(b)] },
    }));
    await waitFor(`replica of ${id}`, async () => (await replicasOf(c, id)).length === 1, 20_000);
    const [replica] = await replicasOf(c, id);
    assert.equal(replica!.spec.nodeName, a, 'the preferred node, although the other has more room');
    await agentReady(c, replica!.metadata.name!, replica!.spec.capacityBytes);
    const { volume } = await created;
    assert.deepEqual(volume.accessible_topology, [topo(a)]);
    assert.equal(volume.capacity_bytes, String(2 * Gi));

    let answered = false;
    const deleted = client.call('Controller', 'DeleteVolume', { volume_id: id }).then(() => { answered = true; });
    await waitFor(`replica of ${id} deleting`, async () => !!(await replicasOf(c, id))[0]?.metadata.deletionTimestamp, 20_000);
    assert.equal(answered, false, 'DeleteVolume waits while the LV is still there');
    await agentRemoved(c, replica!.metadata.name!);
    await deleted;
    assert.equal(await getVolume(c, id), undefined);
  });

  it('a volume no pool can hold: RESOURCE_EXHAUSTED with the placer\'s reason, and no LocalVolume left behind', async () => {
    const id = `pvc-huge-${run}`;
    volumes.push(id);
    await assert.rejects(client.call('Controller', 'CreateVolume', createRequest(id, { capacity_range: { required_bytes: 100 * Gi } })),
      grpcError(status.RESOURCE_EXHAUSTED, /^CreateVolume: no SSD pool has room for 100Gi: the largest has 20Gi free \(csi-b-/));
    await waitFor(`LocalVolume ${id} gone`, async () => (await getVolume(c, id)) === undefined, 20_000);
  });
});
