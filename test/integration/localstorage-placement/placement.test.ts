import assert from 'node:assert/strict';
import { apiVersion, labels, loamResources, localVolumeReplicaName, type LocalVolume } from '../../../src/api/index.js';
import { coreResources, mergePatch, patchStatus, resourcePath } from '../../../src/kube/index.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { createDisk, eventsAbout } from '../ldm-claims/support.js';
import { controlPlane } from '../setup.js';
import {
  agentReady, agentRemoved, allReplicas, createVolume, getVolume, Gi, placerFixture, replicasOf, reportPools, waitForVolume, type PoolInput,
} from './support.js';

const graceMs = 2000;

describe('volume placer (placement, status, deletion, node deletion policy on a real API server)', function () {
  this.timeout(60_000);
  const f = placerFixture({ nodeGraceMs: graceMs });
  const { run, volumes, nodes } = f;

  const node = (name: string, pools: PoolInput[], heartbeat?: Date): Promise<string> => f.node(`${name}-${run}`, pools, heartbeat);
  const ssd = (gi: number, totalGi = gi): PoolInput[] => [{ mediaClass: 'SSD', freeBytes: gi * Gi, totalBytes: totalGi * Gi }];
  const volume = async (name: string, gi: number, extra: Partial<LocalVolume['spec']> = {}): Promise<string> => {
    const full = `pvc-${name}-${run}`;
    volumes.push(full);
    await createVolume(f.c, full, { poolClass: 'SSD', capacityBytes: gi * Gi, replicaCount: 1, ...extra });
    return full;
  };
  const placedOn = async (name: string): Promise<string[]> => (await waitForVolume(f.c, name, 'placed', (v) => (v.spec.replicaNodes?.length ?? 0) > 0)).spec.replicaNodes!;
  const readyAll = async (name: string): Promise<void> => {
    await waitFor(`replicas of ${name}`, async () => (await replicasOf(f.c, name)).length === (await getVolume(f.c, name))!.spec.replicaNodes!.length, 10_000);
    for (const r of await replicasOf(f.c, name)) await agentReady(f.c, r.metadata.name!, r.spec.capacityBytes);
  };

  it('30 volumes created at once against tight pools: exactly what fits is placed, no pool is overcommitted, the rest wait with a message', async () => {
    const names = await Promise.all(['a', 'b', 'c'].map((n) => node(`burst-${n}`, ssd(4))));
    const vols = await Promise.all(Array.from({ length: 30 }, (_, i) => volume(`burst-${i}`, 1)));
    const settled = async (): Promise<{ placed: LocalVolume[]; pending: LocalVolume[] }> => {
      const all = await Promise.all(vols.map((v) => getVolume(f.c, v)));
      return {
        placed: all.filter((v) => (v?.spec.replicaNodes?.length ?? 0) > 0) as LocalVolume[],
        pending: all.filter((v) => v?.status?.state === 'Pending' && !v.spec.replicaNodes?.length) as LocalVolume[],
      };
    };
    await waitFor('12 placed and 18 Pending', async () => {
      const s = await settled();
      return s.placed.length === 12 && s.pending.length === 18;
    }, 30_000, 200);
    await new Promise((r) => setTimeout(r, 1000));
    const { placed, pending } = await settled();
    assert.equal(placed.length, 12, 'no more volumes placed later');
    for (const v of pending) assert.match(v.status!.message!, new RegExp(`^no SSD pool has room for 1Gi: the largest has 0 free \\(burst-[abc]-${run}\\)$`));
    const replicas = (await allReplicas(f.c)).filter((r) => vols.includes(r.spec.volumeName));
    assert.equal(replicas.length, 12, 'one replica per placed volume');
    for (const n of names) {
      const sum = replicas.filter((r) => r.spec.nodeName === n).reduce((s, r) => s + r.spec.capacityBytes, 0);
      assert.ok(sum <= 4 * Gi, `pool of ${n} holds ${sum / Gi}Gi of replicas, more than its 4Gi`);
      assert.equal(sum, 4 * Gi, `pool of ${n} is filled`);
    }
    const events = await eventsAbout(f.c, 'LocalVolume', pending[0]!.metadata.name!);
    assert.ok(events.some((e) => e.type === 'Warning' && e.reason === 'NotPlaced' && e.note === pending[0]!.status!.message), JSON.stringify(events));
  });

  it('honours the preferred node, else takes the most free; two replicas go to two distinct nodes; status follows the replicas', async () => {
    const [a, b, cc] = [await node('pref-a', ssd(10)), await node('pref-b', ssd(50)), await node('pref-c', ssd(30))];
    const preferred = await volume('pref-1', 5, { accessibility: { preferredNodes: [a!] } });
    const anywhere = await volume('pref-2', 5);
    const two = await volume('pref-3', 5, { replicaCount: 2, accessibility: { preferredNodes: [cc!] } });
    assert.deepEqual(await placedOn(preferred), [a], 'the scheduler\'s node is taken although others have more room');
    assert.deepEqual(await placedOn(anywhere), [b], 'the node with the most free bytes');
    assert.deepEqual(await placedOn(two), [cc, b], 'the preferred node, then the most free other node');
    await waitFor('replica of the preferred volume', async () => (await replicasOf(f.c, preferred)).length === 1, 10_000);
    const [replica] = await replicasOf(f.c, preferred);
    assert.equal(replica!.metadata.name, localVolumeReplicaName(preferred, a!), '<volume>-<12 hex of sha256(node)>');
    assert.deepEqual(replica!.metadata.labels, { [labels.node]: a, [labels.volume]: preferred, [labels.poolClass]: 'SSD' });
    assert.deepEqual(replica!.metadata.finalizers, ['loam.io/protect']);
    assert.deepEqual(replica!.spec, { volumeName: preferred, nodeName: a, poolName: 'loam-ssd', capacityBytes: 5 * Gi });
    const creating = await waitForVolume(f.c, preferred, 'Creating', (v) => v.status?.state === 'Creating');
    assert.deepEqual(creating.metadata.finalizers, ['loam.io/protect']);
    await readyAll(preferred);
    const ready = await waitForVolume(f.c, preferred, 'Ready', (v) => v.status?.state === 'Ready');
    assert.equal(ready.status?.allocatedBytes, 5 * Gi);
    assert.deepEqual(ready.status?.replicas, [{ name: replica!.metadata.name, nodeName: a, state: 'Ready', synced: true }]);
    const waited = await controlPlane().kubectl(['wait', '--for=condition=Ready', `localvolume/${preferred}`, '--timeout=10s']);
    assert.equal(waited.exitCode, 0, waited.stderr);
    const table = await controlPlane().kubectl(['get', 'localvolumes', preferred]);
    assert.match(table.stdout, new RegExp(`${preferred}\\s+SSD\\s+5Gi\\s+1\\s+Ready\\s+${a}`), table.stdout);
    await readyAll(two);
    const both = await waitForVolume(f.c, two, 'Ready', (v) => v.status?.state === 'Ready');
    assert.equal(both.status?.nodes, `${cc},${b}`);
    const twoReplicas = await replicasOf(f.c, two);
    assert.deepEqual(twoReplicas.map((r) => r.spec.nodeName).sort(), [b, cc].sort());
  });

  it('keeps a too-large volume Pending naming the largest pool, and places it when a node reports room', async () => {
    const small = await node('big-a', ssd(8));
    await node('big-b', ssd(3));
    const big = await volume('big-1', 50);
    const pending = await waitForVolume(f.c, big, 'Pending', (v) => v.status?.state === 'Pending');
    assert.equal(pending.status?.message, `no SSD pool has room for 50Gi: the largest has 8Gi free (${small})`);
    await waitFor('a NotPlaced warning', async () => (await eventsAbout(f.c, 'LocalVolume', big)).some((e) => e.type === 'Warning' && e.reason === 'NotPlaced' && e.note === pending.status?.message), 10_000);
    await reportPools(f.c, small, ssd(60));
    assert.deepEqual(await placedOn(big), [small]);
    await waitForVolume(f.c, big, 'Creating', (v) => v.status?.state === 'Creating');
  });

  it('grows replicas when the pool has room, and says which pool lacks room when it has not', async () => {
    const n = await node('grow-a', ssd(20));
    const v = await volume('grow-1', 10);
    await placedOn(v);
    await readyAll(v);
    await reportPools(f.c, n, ssd(10, 20));
    await waitForVolume(f.c, v, 'Ready', (x) => x.status?.state === 'Ready');
    await mergePatch(f.c, loamResources.localVolumes, { name: v }, { spec: { capacityBytes: 15 * Gi } });
    await waitFor('replica grown to 15Gi', async () => (await replicasOf(f.c, v))[0]?.spec.capacityBytes === 15 * Gi, 10_000);
    await waitForVolume(f.c, v, 'Expanding', (x) => x.status?.state === 'Expanding');
    await mergePatch(f.c, loamResources.localVolumes, { name: v }, { spec: { capacityBytes: 30 * Gi } });
    const blocked = await waitForVolume(f.c, v, 'Expanding with a reason', (x) => x.status?.message?.startsWith('cannot grow') ?? false);
    assert.equal(blocked.status?.state, 'Expanding');
    assert.equal(blocked.status?.message, `cannot grow to 30Gi: pool loam-ssd on ${n} has 5Gi free, 15Gi more is needed`);
    assert.equal((await replicasOf(f.c, v))[0]?.spec.capacityBytes, 15 * Gi, 'the replica is not grown past its pool');
    await waitFor('an ExpandBlocked warning', async () => (await eventsAbout(f.c, 'LocalVolume', v)).some((e) => e.type === 'Warning' && e.reason === 'ExpandBlocked'), 10_000);
  });

  it('deleting a volume deletes its replicas and lets the volume go only once node agents have removed them', async () => {
    await node('del-a', ssd(20));
    const v = await volume('del-1', 5);
    await placedOn(v);
    await readyAll(v);
    await waitForVolume(f.c, v, 'Ready', (x) => x.status?.state === 'Ready');
    await f.c.rest.request('DELETE', resourcePath(loamResources.localVolumes, undefined, v));
    await waitForVolume(f.c, v, 'Deleting', (x) => x.status?.state === 'Deleting');
    const [replica] = await replicasOf(f.c, v);
    await waitFor('replica being deleted', async () => (await replicasOf(f.c, v))[0]?.metadata.deletionTimestamp !== undefined, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(await getVolume(f.c, v), 'the volume waits for its replica\'s LV to be removed');
    await agentRemoved(f.c, replica!.metadata.name!);
    await waitFor('volume gone', async () => (await getVolume(f.c, v)) === undefined, 10_000);
  });

  it('node deletion policy: nothing goes while the Node exists; once gone past the grace, its objects go and its volumes say so', async () => {
    const stale = new Date(Date.now() - 3_600_000);
    // Its agent is alive while the volumes are placed (a silent node takes no new volumes), then falls silent.
    const gone = await node('gone-a', ssd(20));
    const other = await node('gone-b', ssd(20));
    const ldn = { apiVersion, kind: 'LocalDiskNode', metadata: { name: gone, labels: { [labels.node]: gone } }, spec: { nodeName: gone } };
    await f.c.rest.request('POST', resourcePath(loamResources.localDiskNodes), { body: ldn });
    await patchStatus(f.c, loamResources.localDiskNodes, { name: gone }, { lastHeartbeatTime: stale.toISOString().replace(/\.\d+Z$/, 'Z') });
    const disk = `${gone}-disk`;
    await createDisk(f.c, { name: disk, node: gone, path: '/dev/sdb', gi: 20, mediaClass: 'SSD', state: 'InUse' });
    await mergePatch(f.c, loamResources.localDisks, { name: disk }, { metadata: { finalizers: ['loam.io/protect'] } });
    const live = await volume('gone-live', 5, { accessibility: { requiredNodes: [gone] } });
    const dying = await volume('gone-dying', 5, { accessibility: { requiredNodes: [gone] } });
    const two = await volume('gone-two', 5, { replicaCount: 2 });
    for (const v of [live, dying, two]) {
      await placedOn(v);
      await readyAll(v);
    }
    await patchStatus(f.c, loamResources.localStorageNodes, { name: gone }, { lastHeartbeatTime: stale.toISOString().replace(/\.\d+Z$/, 'Z') });
    await f.c.rest.request('DELETE', resourcePath(loamResources.localVolumes, undefined, dying));
    await waitForVolume(f.c, dying, 'Deleting', (x) => x.status?.state === 'Deleting');

    await new Promise((r) => setTimeout(r, 2.5 * graceMs));
    const lsnStill = await f.c.rest.request<unknown>('GET', resourcePath(loamResources.localStorageNodes, undefined, gone)).catch(() => undefined);
    assert.ok(lsnStill, 'a stale heartbeat alone deletes nothing while the Node exists');
    assert.ok(await getVolume(f.c, dying), 'the replica still waits for its agent');

    await f.c.rest.request('DELETE', resourcePath(coreResources.nodes, undefined, gone));
    const missing = async (ref: typeof loamResources.localDisks, name: string): Promise<boolean> => f.c.rest.request('GET', resourcePath(ref, undefined, name)).then(() => false, () => true);
    await waitFor('LocalStorageNode, LocalDiskNode and LocalDisk of the gone node deleted', async () =>
      (await missing(loamResources.localStorageNodes, gone)) && (await missing(loamResources.localDiskNodes, gone)) && (await missing(loamResources.localDisks, disk)), 15_000);
    await waitFor('the deleting volume let go (no agent will remove its replica)', async () => (await getVolume(f.c, dying)) === undefined, 10_000);
    const failed = await waitForVolume(f.c, live, 'Failed', (x) => x.status?.state === 'Failed');
    assert.equal(failed.status?.message, `node ${gone} was deleted from the cluster and its replica with it`);
    assert.equal(failed.status?.replicas?.[0]?.state, 'Lost');
    const degraded = await waitForVolume(f.c, two, 'Degraded', (x) => x.status?.state === 'Degraded');
    assert.equal(degraded.status?.message, `node ${gone} was deleted from the cluster and its replica with it`);
    assert.deepEqual([...degraded.spec.replicaNodes!].sort(), [gone, other].sort());
    const events = await eventsAbout(f.c, 'LocalVolume', live);
    assert.ok(events.some((e) => e.type === 'Warning' && e.reason === 'ReplicaLost'), JSON.stringify(events));
    assert.ok(await getVolume(f.c, live), 'a live volume is never deleted by the policy');
    assert.equal((await replicasOf(f.c, live)).length, 1, 'nor is its replica (the node may come back with its disk)');
    nodes.splice(nodes.indexOf(gone), 1);
  });
});
