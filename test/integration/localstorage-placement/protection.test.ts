/**
 * What Loam does when a user deletes its internal objects by hand (issue #13, items 2 and 9), on a
 * real API server: a LocalVolume whose PersistentVolume is still Bound is not finalized (as
 * kubernetes.io/pv-protection keeps a PV); a replica of a volume that held data is never made again
 * empty; a replica deleted by hand, which its node agent holds, makes the volume say so; and two
 * volumes whose replica names collided under `<volume>-<node>` both get their replica.
 */
import assert from 'node:assert/strict';
import { loamResources } from '../../../src/api/index.js';
import { coreResources, isNotFound, mergePatch, patchStatus, resourcePath } from '../../../src/kube/index.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { eventsAbout } from '../ldm-claims/support.js';
import { controlPlane } from '../setup.js';
import { agentReady, agentRemoved, createVolume, getVolume, Gi, placerFixture, replicasOf, waitForVolume } from './support.js';

describe('volume placer: internal objects deleted by hand (real API server)', function () {
  this.timeout(60_000);
  const f = placerFixture({ nodeGraceMs: 60_000 });
  const { run, volumes } = f;
  const pvs: string[] = [];

  const node = (name: string): Promise<string> => f.node(name, [{ mediaClass: 'SSD', freeBytes: 20 * Gi, totalBytes: 20 * Gi }]);
  const readyVolume = async (name: string, onNode: string): Promise<void> => {
    volumes.push(name);
    await createVolume(f.c, name, { poolClass: 'SSD', capacityBytes: 5 * Gi, replicaCount: 1, accessibility: { requiredNodes: [onNode] } });
    await waitFor(`the replica of ${name}`, async () => (await replicasOf(f.c, name)).length === 1, 10_000);
    for (const r of await replicasOf(f.c, name)) await agentReady(f.c, r.metadata.name!, r.spec.capacityBytes);
    await waitForVolume(f.c, name, 'Ready', (v) => v.status?.state === 'Ready');
  };
  /** A PV of lvm.loam.io for the volume, as external-provisioner writes it, in `phase`. */
  const persistentVolume = async (volume: string, phase: string, reclaim: 'Delete' | 'Retain' = 'Delete'): Promise<void> => {
    pvs.push(volume);
    const body = {
      apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: volume },
      spec: { capacity: { storage: '5Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: reclaim, claimRef: { namespace: 'default', name: `data-${run}` }, csi: { driver: 'lvm.loam.io', volumeHandle: volume } },
    };
    await f.c.rest.request('POST', resourcePath(coreResources.persistentVolumes), { body });
    await patchStatus(f.c, coreResources.persistentVolumes, { name: volume }, { phase });
  };

  afterEach(async () => {
    for (const pv of pvs.splice(0)) {
      await mergePatch(f.c, coreResources.persistentVolumes, { name: pv }, { metadata: { finalizers: null } }).catch(() => undefined);
      await f.c.rest.request('DELETE', resourcePath(coreResources.persistentVolumes, undefined, pv)).catch(() => undefined);
    }
  });

  it('kubectl delete lv of a volume whose PV is Bound: nothing is removed, the volume says why (status and event); once the PV is Released it goes', async () => {
    const n = await node(`prot-a-${run}`);
    const v = `pvc-prot-${run}`;
    await readyVolume(v, n);
    await persistentVolume(v, 'Bound');
    const deleted = await controlPlane().kubectl(['delete', 'localvolume', v, '--wait=false']);
    assert.equal(deleted.exitCode, 0, deleted.stderr);
    const held = await waitForVolume(f.c, v, 'held', (x) => x.status?.conditions?.find((cd) => cd.type === 'Ready')?.reason === 'DeletionHeld');
    assert.equal(held.status?.state, 'Deleting');
    assert.match(held.status!.message!, new RegExp(`^PersistentVolume ${v} \\(Bound, claim default/data-${run}\\) still uses this volume: Loam keeps the volume and its data`));
    await new Promise((r) => setTimeout(r, 1500));
    const [replica] = await replicasOf(f.c, v);
    assert.ok(replica, 'the replica is still there');
    assert.equal(replica.metadata.deletionTimestamp, undefined, 'the replica (and so its LV) is not deleted while the PV is Bound');
    assert.deepEqual((await getVolume(f.c, v))?.metadata.finalizers, ['loam.io/protect'], 'the finalizer holds');
    const events = await eventsAbout(f.c, 'LocalVolume', v);
    assert.ok(events.some((e) => e.type === 'Warning' && e.reason === 'DeletionHeld' && e.note === held.status?.message), JSON.stringify(events));

    // The claim is deleted: Kubernetes releases the PV (reclaim policy Delete) and the deletion goes on.
    await patchStatus(f.c, coreResources.persistentVolumes, { name: v }, { phase: 'Released' });
    await waitFor('the replica being deleted', async () => (await replicasOf(f.c, v))[0]?.metadata.deletionTimestamp !== undefined, 10_000);
    await agentRemoved(f.c, replica.metadata.name!);
    await waitFor('the volume gone', async () => (await getVolume(f.c, v)) === undefined, 10_000);
  });

  it('a replica gone from a volume that was Ready is not made again empty: the volume is Failed, says what happened and what to do, with an event', async () => {
    const n = await node(`gone-a-${run}`);
    const v = `pvc-gone-${run}`;
    await readyVolume(v, n);
    const [replica] = await replicasOf(f.c, v);
    // The replica object vanishes (its finalizer stripped by hand, then deleted).
    await mergePatch(f.c, loamResources.localVolumeReplicas, { name: replica!.metadata.name! }, { metadata: { finalizers: null } });
    await f.c.rest.request('DELETE', resourcePath(loamResources.localVolumeReplicas, undefined, replica!.metadata.name));
    const failed = await waitForVolume(f.c, v, 'Failed', (x) => x.status?.state === 'Failed');
    assert.equal(failed.status?.conditions?.find((cd) => cd.type === 'Ready')?.reason, 'ReplicaGone');
    assert.match(failed.status!.message!, new RegExp(`^the replica on ${n} \\(LocalVolumeReplica [^)]+\\) is gone although the volume held data: Loam does not make it again empty`));
    assert.match(failed.status!.message!, /delete the PersistentVolumeClaim/);
    assert.equal(failed.status?.replicas?.[0]?.state, 'Gone');
    assert.ok(failed.status?.firstReadyTime, 'the volume recorded when it first held data');
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await replicasOf(f.c, v), [], 'no replica was made again');
    await waitFor('a ReplicaGone warning', async () => (await eventsAbout(f.c, 'LocalVolume', v)).some((e) => e.type === 'Warning' && e.reason === 'ReplicaGone' && e.note === failed.status?.message), 10_000);
  });

  it('a replica deleted by hand that its node agent holds: the volume is Degraded and says the data is kept; no second replica is made', async () => {
    const n = await node(`held-a-${run}`);
    const v = `pvc-held-${run}`;
    await readyVolume(v, n);
    const [replica] = await replicasOf(f.c, v);
    const deleted = await controlPlane().kubectl(['delete', 'localvolumereplica', replica!.metadata.name!, '--wait=false']);
    assert.equal(deleted.exitCode, 0, deleted.stderr);
    const degraded = await waitForVolume(f.c, v, 'Degraded', (x) => x.status?.state === 'Degraded');
    assert.equal(degraded.status?.conditions?.find((cd) => cd.type === 'Ready')?.reason, 'ReplicaDeletionHeld');
    assert.match(degraded.status!.message!, new RegExp(`^LocalVolumeReplica ${replica!.metadata.name} on ${n} was deleted by hand while the volume uses it: its node agent keeps the LV and the data`));
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual((await replicasOf(f.c, v)).map((r) => r.metadata.name), [replica!.metadata.name]);
  });

  it('two volumes whose replica names collided under <volume>-<node> (pvc-a on b-c, pvc-a-b on c) both get their replica and are Ready', async () => {
    // <v1>-<n1> = pvc-coll-<run>-x-n<run> = <v2>-<n2>
    const n1 = await node(`x-n${run}`);
    const n2 = await node(`n${run}`);
    const v1 = `pvc-coll-${run}`;
    const v2 = `pvc-coll-${run}-x`;
    assert.equal(`${v1}-${n1}`, `${v2}-${n2}`, 'the old scheme gives both the same name');
    await readyVolume(v1, n1);
    await readyVolume(v2, n2);
    const [r1] = await replicasOf(f.c, v1);
    const [r2] = await replicasOf(f.c, v2);
    assert.deepEqual([r1?.spec.nodeName, r2?.spec.nodeName], [n1, n2]);
    assert.notEqual(r1?.metadata.name, r2?.metadata.name);
    assert.equal((await getVolume(f.c, v1))?.status?.replicas?.[0]?.name, r1?.metadata.name, 'the volume names its own replica');
    assert.equal((await getVolume(f.c, v2))?.status?.replicas?.[0]?.name, r2?.metadata.name);
    await assert.rejects(f.c.rest.request('GET', resourcePath(loamResources.localVolumeReplicas, undefined, `${v1}-${n1}`)), (err: unknown) => isNotFound(err));
  });
});
