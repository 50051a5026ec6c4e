import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { apiVersion, loamResources, nodeLabelValue, type LocalVolume } from '../../../src/api/index.js';
import { mergePatch, patchStatus, resourcePath, type KubeClients } from '../../../src/kube/index.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { clients, suffix } from '../ldm-claims/support.js';
import { cleanup, createStorageNode, getVolume } from '../localstorage-placement/support.js';
import { createRequest, CsiTestClient, Gi, grpcError, startControllerEndpoint, topo, waitProbeReady } from './support.js';

describe('csi controller service (real API server, real socket; the test plays the volume placer)', function () {
  this.timeout(60_000);
  const run = suffix();
  let c: KubeClients;
  let client: CsiTestClient;
  let endpoint: Awaited<ReturnType<typeof startControllerEndpoint>>;
  const volumes: string[] = [];
  const storageNodes: string[] = [];
  const name = (what: string): string => {
    const full = `pvc-${what}-${run}`;
    volumes.push(full);
    return full;
  };

  /** Plays the placer and the node agents: the volume is placed on `nodes` and Ready with `allocatedBytes`. */
  const placeReady = async (id: string, nodes: string[], allocatedBytes?: number): Promise<void> => {
    await waitFor(`LocalVolume ${id}`, async () => (await getVolume(c, id)) !== undefined, 10_000);
    const v = await mergePatch<LocalVolume>(c, loamResources.localVolumes, { name: id }, { spec: { replicaNodes: nodes } });
    await patchStatus(c, loamResources.localVolumes, { name: id }, { state: 'Ready', allocatedBytes: allocatedBytes ?? v.spec.capacityBytes, message: 'ready' });
  };
  const setStatus = async (id: string, st: Record<string, unknown>): Promise<void> => {
    await waitFor(`LocalVolume ${id}`, async () => (await getVolume(c, id)) !== undefined, 10_000);
    await patchStatus(c, loamResources.localVolumes, { name: id }, st);
  };
  /** A LocalVolume as CreateVolume + placement would leave it, written directly; returns once the service's cache shows its status. */
  const existingVolume = async (id: string, spec: Partial<LocalVolume['spec']>, st: { state: string } & Record<string, unknown>): Promise<void> => {
    const body: LocalVolume = { apiVersion, kind: 'LocalVolume', metadata: { name: id, annotations: { 'loam.io/fstype': 'ext4' } }, spec: { poolClass: 'SSD', capacityBytes: Gi, replicaCount: 1, ...spec } };
    await c.rest.request('POST', resourcePath(loamResources.localVolumes), { body });
    await patchStatus(c, loamResources.localVolumes, { name: id }, st);
    await waitFor(`the controller's cache to show ${id} ${st.state}`, async () => {
      const got = await client.call<{ status: { volume_condition: { message: string } } }>('Controller', 'ControllerGetVolume', { volume_id: id });
      return got.status.volume_condition.message.startsWith(st.state);
    }, 10_000, 20);
  };

  before(async () => {
    c = clients();
    endpoint = await startControllerEndpoint(c, 8_000);
    client = endpoint.client;
  });

  afterEach(async () => cleanup(c, volumes, storageNodes));

  after(async () => {
    await endpoint.stop();
  });

  it('is ready once its informers have synced, and advertises its capabilities', async () => {
    await waitProbeReady(client, 10_000);
    const caps = await client.call<{ capabilities: Array<{ rpc: { type: string } }> }>('Controller', 'ControllerGetCapabilities', {});
    assert.deepEqual(caps.capabilities.map((x) => x.rpc.type), ['CREATE_DELETE_VOLUME', 'LIST_VOLUMES', 'GET_CAPACITY', 'EXPAND_VOLUME', 'VOLUME_CONDITION', 'GET_VOLUME', 'SINGLE_NODE_MULTI_WRITER']);
  });

  it('CreateVolume writes the LocalVolume, waits until it is Ready, and returns the replica nodes as topology; a retry returns the same', async () => {
    const id = name('create');
    const request = createRequest(id, {
      parameters: { poolClass: 'SSD', 'csi.storage.k8s.io/fstype': 'xfs', 'csi.storage.k8s.io/pvc/namespace': 'apps', 'csi.storage.k8s.io/pvc/name': 'data' },
      accessibility_requirements: { requisite: [topo('n1'), topo('n2'), topo('n3')], preferred: [topo('n2'), topo('n1')] },
    });
    const created = client.call<{ volume: Record<string, unknown> }>('Controller', 'CreateVolume', request);
    await waitFor(`LocalVolume ${id}`, async () => (await getVolume(c, id)) !== undefined, 10_000);
    const lv = (await getVolume(c, id))!;
    assert.deepEqual(lv.spec, {
      poolClass: 'SSD', capacityBytes: Gi, replicaCount: 1, pvcRef: { namespace: 'apps', name: 'data' },
      accessibility: { requiredNodes: ['n1', 'n2', 'n3'], preferredNodes: ['n2', 'n1'] },
    });
    assert.equal(lv.metadata.annotations?.['loam.io/fstype'], 'xfs');
    await placeReady(id, ['n2'], Gi);
    const { volume } = await created;
    assert.deepEqual(volume, {
      volume_id: id, capacity_bytes: String(Gi), content_source: null,
      volume_context: { poolClass: 'SSD', replicaCount: '1', fstype: 'xfs' },
      accessible_topology: [topo('n2')],
    });
    assert.deepEqual((await client.call<{ volume: unknown }>('Controller', 'CreateVolume', request)).volume, volume, 'idempotent');
    await assert.rejects(client.call('Controller', 'CreateVolume', createRequest(id, { ...request, capacity_range: { required_bytes: 2 * Gi } })),
      grpcError(status.ALREADY_EXISTS, new RegExp(`volume ${id} exists with ${Gi} bytes, outside the requested range`)));
  });

  it('CreateVolume refuses replicaCount "2" with INVALID_ARGUMENT (no replication yet) and writes no LocalVolume', async () => {
    const id = name('dual');
    await assert.rejects(client.call('Controller', 'CreateVolume', createRequest(id, { parameters: { poolClass: 'SSD', replicaCount: '2' }, accessibility_requirements: { requisite: [topo('n1'), topo('n2')], preferred: [topo('n1')] } })),
      grpcError(status.INVALID_ARGUMENT, /^CreateVolume: parameters.replicaCount "2": dual-replica volumes need replication \(DRBD\), which is not available yet; use replicaCount "1"$/));
    assert.equal(await getVolume(c, id), undefined, 'no LocalVolume was written');
  });

  it('a second CreateVolume of a volume still being created is ABORTED; the first still completes', async () => {
    const id = name('busy');
    const first = client.call('Controller', 'CreateVolume', createRequest(id));
    await waitFor(`LocalVolume ${id}`, async () => (await getVolume(c, id)) !== undefined, 10_000);
    await assert.rejects(client.call('Controller', 'CreateVolume', createRequest(id)), grpcError(status.ABORTED, new RegExp(`an operation on volume ${id} is already in progress`)));
    await assert.rejects(client.call('Controller', 'DeleteVolume', { volume_id: id }), grpcError(status.ABORTED, /already in progress/));
    await placeReady(id, ['n1']);
    await first;
  });

  it('no pool has room: RESOURCE_EXHAUSTED with the placer\'s message, and the unplaced LocalVolume is not left behind', async () => {
    const id = name('full');
    const created = client.call('Controller', 'CreateVolume', createRequest(id));
    const message = 'no SSD pool has room for 1Gi: the largest has 512Mi free (n1)';
    await setStatus(id, { state: 'Pending', message });
    await assert.rejects(created, grpcError(status.RESOURCE_EXHAUSTED, new RegExp(`^CreateVolume: ${message.replace(/[()]/g, '\\$&')}$`)));
    assert.equal(await getVolume(c, id), undefined, 'the Pending LocalVolume is deleted');
  });

  it('a volume not Ready in time gives DEADLINE_EXCEEDED naming its state; the retry finds the same object', async () => {
    const id = name('slow');
    const started = Date.now();
    const first = client.call('Controller', 'CreateVolume', createRequest(id));
    await setStatus(id, { state: 'Creating', message: 'creating the replica on n1' });
    await assert.rejects(first, grpcError(status.DEADLINE_EXCEEDED, new RegExp(`volume ${id}: not done after 8 s \\(volume is Creating: creating the replica on n1\\); retry later`)));
    assert.ok(Date.now() - started < 15_000);
    const uid = (await getVolume(c, id))!.metadata.uid;
    const retry = client.call('Controller', 'CreateVolume', createRequest(id));
    await placeReady(id, ['n1']);
    await retry;
    assert.equal((await getVolume(c, id))!.metadata.uid, uid);
  });

  it('DeleteVolume removes the LocalVolume and is idempotent; an unknown or impossible id is success', async () => {
    const id = name('delete');
    await existingVolume(id, { replicaNodes: ['n1'] }, { state: 'Ready', allocatedBytes: Gi });
    assert.deepEqual(await client.call('Controller', 'DeleteVolume', { volume_id: id }), {});
    assert.equal(await getVolume(c, id), undefined);
    assert.deepEqual(await client.call('Controller', 'DeleteVolume', { volume_id: id }), {});
    assert.deepEqual(await client.call('Controller', 'DeleteVolume', { volume_id: 'Not/A Volume' }), {});
  });

  it('DeleteVolume waits for the finalizers (the LVs being removed) before it answers', async () => {
    const id = name('finalized');
    await existingVolume(id, { replicaNodes: ['n1'] }, { state: 'Ready', allocatedBytes: Gi });
    await mergePatch(c, loamResources.localVolumes, { name: id }, { metadata: { finalizers: ['loam.io/protect'] } });
    let answered = false;
    const deleting = client.call('Controller', 'DeleteVolume', { volume_id: id }).then(() => { answered = true; });
    await waitFor('deletionTimestamp', async () => !!(await getVolume(c, id))?.metadata.deletionTimestamp, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(answered, false, 'not answered while the finalizer holds the object');
    await mergePatch(c, loamResources.localVolumes, { name: id }, { metadata: { finalizers: null } });
    await deleting;
  });

  it('ListVolumes pages 2 at a time through 5 volumes, each once, with a condition', async () => {
    const ids = [1, 2, 3, 4, 5].map((i) => name(`list${i}`));
    for (const id of ids) await existingVolume(id, { replicaNodes: ['n1'] }, id.startsWith(`pvc-list3`) ? { state: 'Degraded', message: 'the replica on n2 is out of sync' } : { state: 'Ready', allocatedBytes: Gi });
    await waitFor('volumes in the cache', async () => {
      const all = await client.call<{ entries: unknown[] }>('Controller', 'ListVolumes', {});
      return ids.every((id) => JSON.stringify(all.entries).includes(id));
    }, 10_000);
    const seen: Array<{ volume: { volume_id: string }; status: { volume_condition: { abnormal: boolean } } }> = [];
    let token = '';
    let pages = 0;
    do {
      const page = await client.call<{ entries: typeof seen; next_token: string }>('Controller', 'ListVolumes', { max_entries: 2, starting_token: token });
      assert.ok(page.entries.length <= 2);
      seen.push(...page.entries);
      token = page.next_token;
      pages++;
    } while (token);
    const ours = seen.filter((e) => ids.includes(e.volume.volume_id));
    assert.deepEqual(ours.map((e) => e.volume.volume_id), ids);
    assert.equal(pages, Math.ceil(seen.length / 2));
    assert.deepEqual(ours.map((e) => e.status.volume_condition.abnormal), [false, false, true, false, false]);
    await assert.rejects(client.call('Controller', 'ListVolumes', { max_entries: 2, starting_token: 'not-a-token' }), grpcError(status.ABORTED, /starting_token "not-a-token" is not one this plugin gave out/));
  });

  it('ControllerGetVolume shows the condition; an unknown volume is NOT_FOUND', async () => {
    const id = name('get');
    await existingVolume(id, { replicaNodes: ['n1', 'n2'], replicaCount: 2 }, { state: 'Degraded', message: 'the replica on n2 failed: disk gone', allocatedBytes: Gi });
    const got = await client.call<{ volume: { volume_id: string; accessible_topology: unknown[] }; status: { volume_condition: unknown } }>('Controller', 'ControllerGetVolume', { volume_id: id });
    assert.equal(got.volume.volume_id, id);
    assert.deepEqual(got.volume.accessible_topology, [topo('n1'), topo('n2')]);
    assert.deepEqual(got.status.volume_condition, { abnormal: true, message: 'Degraded: the replica on n2 failed: disk gone' });
    await assert.rejects(client.call('Controller', 'ControllerGetVolume', { volume_id: `pvc-missing-${run}` }), grpcError(status.NOT_FOUND, /does not exist/));
  });

  it('ValidateVolumeCapabilities confirms single-node access and says why it does not confirm the rest', async () => {
    const id = name('validate');
    await existingVolume(id, { replicaNodes: ['n1'] }, { state: 'Ready', allocatedBytes: Gi });
    const caps = [{ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }, { mount: { fs_type: 'xfs' }, access_mode: { mode: 'SINGLE_NODE_READER_ONLY' } }];
    const ok = await client.call<{ confirmed: { volume_capabilities: unknown[] }; message: string }>('Controller', 'ValidateVolumeCapabilities', { volume_id: id, volume_capabilities: caps });
    assert.equal(ok.confirmed.volume_capabilities.length, 2);
    const no = await client.call<{ confirmed: unknown; message: string }>('Controller', 'ValidateVolumeCapabilities', { volume_id: id, volume_capabilities: [{ mount: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } }] });
    assert.equal(no.confirmed, null);
    assert.match(no.message, /MULTI_NODE_MULTI_WRITER is not supported/);
    await assert.rejects(client.call('Controller', 'ValidateVolumeCapabilities', { volume_id: `pvc-missing-${run}`, volume_capabilities: caps }), grpcError(status.NOT_FOUND, /does not exist/));
  });

  it('ControllerExpandVolume raises the capacity, waits for the LVs, and never shrinks', async () => {
    const id = name('expand');
    await existingVolume(id, { replicaNodes: ['n1'] }, { state: 'Ready', allocatedBytes: Gi });
    const expanding = client.call<{ capacity_bytes: string; node_expansion_required: boolean }>('Controller', 'ControllerExpandVolume', {
      volume_id: id, capacity_range: { required_bytes: 2 * Gi }, volume_capability: { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
    });
    await waitFor('spec.capacityBytes raised', async () => (await getVolume(c, id))!.spec.capacityBytes === 2 * Gi, 10_000);
    await patchStatus(c, loamResources.localVolumes, { name: id }, { state: 'Ready', allocatedBytes: 2 * Gi });
    assert.deepEqual(await expanding, { capacity_bytes: String(2 * Gi), node_expansion_required: true });
    const smaller = await client.call('Controller', 'ControllerExpandVolume', { volume_id: id, capacity_range: { required_bytes: Gi }, volume_capability: { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } } });
    assert.deepEqual(smaller, { capacity_bytes: String(2 * Gi), node_expansion_required: false }, 'a smaller request succeeds with the current size; block needs no node step');
    assert.equal((await getVolume(c, id))!.spec.capacityBytes, 2 * Gi);
    await assert.rejects(client.call('Controller', 'ControllerExpandVolume', { volume_id: `pvc-missing-${run}`, capacity_range: { required_bytes: Gi } }), grpcError(status.NOT_FOUND, /does not exist/));
  });

  it('GetCapacity answers per node segment and pool class from LocalStorageNodes, minus promised bytes', async () => {
    const n1 = `csi-cap-a-${run}`;
    const n2 = `csi-cap-b-${run}`;
    storageNodes.push(n1, n2);
    await createStorageNode(c, n1, [{ mediaClass: 'SSD', freeBytes: 10 * Gi, totalBytes: 20 * Gi }, { mediaClass: 'HDD', freeBytes: 50 * Gi }]);
    await createStorageNode(c, n2, [{ mediaClass: 'SSD', freeBytes: 6 * Gi }]);
    // A volume placed on n1 whose replica LV does not exist yet: its 3 GiB are promised.
    const id = name('promised');
    await existingVolume(id, { replicaNodes: [n1], capacityBytes: 3 * Gi }, { state: 'Creating' });
    const capacity = async (req: object): Promise<{ available_capacity: string; maximum_volume_size: { value: string } | null }> => client.call('Controller', 'GetCapacity', req);
    await waitFor('capacity seen', async () => (await capacity({ parameters: { poolClass: 'SSD' }, accessible_topology: topo(n1) })).available_capacity === String(7 * Gi), 10_000);
    assert.deepEqual(await capacity({ parameters: { poolClass: 'SSD' }, accessible_topology: topo(n2) }), { available_capacity: String(6 * Gi), maximum_volume_size: { value: String(6 * Gi) }, minimum_volume_size: null });
    assert.equal((await capacity({ parameters: { poolClass: 'HDD' }, accessible_topology: topo(n2) })).available_capacity, '0');
    assert.equal((await capacity({ parameters: { poolClass: 'HDD', 'csi.storage.k8s.io/fstype': 'xfs' }, accessible_topology: topo(n1) })).available_capacity, String(50 * Gi));
    assert.equal((await capacity({ parameters: { poolClass: 'SSD' }, accessible_topology: topo(`unknown-${run}`) })).available_capacity, '0');
    assert.equal((await capacity({ parameters: { poolClass: 'SSD' }, volume_capabilities: [{ mount: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } }], accessible_topology: topo(n1) })).available_capacity, '0');
    const total = await capacity({ parameters: { poolClass: 'SSD' } });
    assert.ok(Number(total.available_capacity) >= 13 * Gi, `the total counts both nodes: ${total.available_capacity}`);
    await assert.rejects(capacity({ parameters: { poolClass: 'Tape' } }), grpcError(status.INVALID_ARGUMENT, /poolClass "Tape" is not a pool class/));
  });

  it('a node name too long for a label value (an FQDN) travels as its shortened topology value and is mapped back to the node', async () => {
    const long = `csi-fqdn-${run}.${'rack-17-row-4.'.repeat(5)}storage.example.com`;
    assert.ok(long.length > 63);
    const value = nodeLabelValue(long);
    assert.ok(value.length <= 63 && value !== long);
    storageNodes.push(long);
    await createStorageNode(c, long, [{ mediaClass: 'SSD', freeBytes: 8 * Gi, totalBytes: 8 * Gi }]);
    await waitFor('GetCapacity of the long-named node', async () => (await client.call<{ available_capacity: string }>('Controller', 'GetCapacity', { parameters: { poolClass: 'SSD' }, accessible_topology: topo(value) })).available_capacity === String(8 * Gi), 10_000);
    const id = name('fqdn');
    const created = client.call<{ volume: { accessible_topology: unknown } }>('Controller', 'CreateVolume', createRequest(id, { accessibility_requirements: { requisite: [topo(value)], preferred: [topo(value)] } }));
    await waitFor(`LocalVolume ${id}`, async () => (await getVolume(c, id)) !== undefined, 10_000);
    assert.deepEqual((await getVolume(c, id))!.spec.accessibility, { requiredNodes: [long], preferredNodes: [long] }, 'the LocalVolume names the node itself');
    await placeReady(id, [long], Gi);
    assert.deepEqual((await created).volume.accessible_topology, [topo(value)], 'the answer carries the value kubelet put on the Node');
  });

  it('malformed requests get INVALID_ARGUMENT naming the missing field, and the server goes on serving', async () => {
    const cases: Array<[string, object, RegExp]> = [
      ['CreateVolume', {}, /^CreateVolume: name is required$/],
      ['CreateVolume', { name: 'pvc-x' }, /^CreateVolume: volume_capabilities is required$/],
      ['CreateVolume', { name: 'pvc-x', volume_capabilities: [{ mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }] }, /parameters.poolClass is required/],
      ['CreateVolume', { name: 'pvc-x', volume_capabilities: [{ mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }], parameters: { poolClass: 'SSD', replicaCount: '3' } }, /replicaCount "3" is not supported/],
      ['CreateVolume', { name: 'pvc-x', volume_capabilities: [{ mount: {} }], parameters: { poolClass: 'SSD' } }, /volume_capabilities\[0\]: a volume capability must have an access mode/],
      ['DeleteVolume', {}, /^DeleteVolume: volume_id is required$/],
      ['ControllerExpandVolume', {}, /^ControllerExpandVolume: volume_id is required$/],
      ['ControllerExpandVolume', { volume_id: 'pvc-x' }, /^ControllerExpandVolume: capacity_range is required$/],
      ['ValidateVolumeCapabilities', {}, /^ValidateVolumeCapabilities: volume_id is required$/],
      ['ValidateVolumeCapabilities', { volume_id: 'pvc-x' }, /^ValidateVolumeCapabilities: volume_capabilities is required$/],
      ['ControllerGetVolume', {}, /^ControllerGetVolume: volume_id is required$/],
    ];
    for (const [method, req, pattern] of cases) await assert.rejects(client.call('Controller', method, req), grpcError(status.INVALID_ARGUMENT, pattern), `${method} ${JSON.stringify(req)}`);
    await assert.rejects(client.call('Controller', 'ListVolumes', { max_entries: -1 }), grpcError(status.INVALID_ARGUMENT, /max_entries must not be negative/));
    await assert.rejects(client.raw('/csi.v1.Controller/CreateVolume', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])), (err: { code: number }) => err.code !== status.OK);
    await assert.rejects(client.raw('/csi.v1.Controller/CreateVolume', Buffer.from([0x08, 0x01])), grpcError(status.INVALID_ARGUMENT, /name is required/), 'a field of the wrong wire type is ignored, not a crash');
    assert.deepEqual(await client.call('Identity', 'Probe', {}), { ready: { value: true } });
  });
});
