/**
 * Dynamic provisioning as Kubernetes does it, on real LVM in a VM (issue #8): the real
 * external-provisioner and external-resizer and kube-controller-manager on the host, loam-controller
 * serving the Controller service on a host socket, loam-node in the VM. A PVC of a Loam StorageClass
 * (WaitForFirstConsumer, with the node the scheduler picked) becomes Bound to a PV pinned to that
 * node, backed by an LV in the guest; the volume is staged and published in the guest (as kubelet
 * would) and holds a file; resizing the PVC grows the LV and NodeExpand the filesystem; deleting the
 * PVC removes the PV and the LV.
 */
import assert from 'node:assert/strict';
import { CoreV1Api, PatchStrategy, setHeaderOptions, StorageV1Api, type V1PersistentVolume, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { waitFor } from '../../tools/testenv/wait.js';
import { noteFigure } from './harness/figures.js';
import { CsiCluster, guestNodeSocket } from '../sanity/csi-cluster.js';
import { ProvisioningSidecars, registerDriverOnNode } from '../sanity/sidecars.js';

const MiB = 1024 ** 2;
const nodeName = 'vm-csi';
const namespace = 'default';
const stage = '/run/csi-e2e/staging';
const target = '/run/csi-e2e/target';
const mountCap = { mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

describe('e2e: PVCs of a Loam StorageClass through the real external-provisioner and -resizer', function () {
  this.timeout(600_000);
  let cluster: CsiCluster;
  let sidecars: ProvisioningSidecars | undefined;
  let core: CoreV1Api;
  /** The chart's class name for the VM disk's media class (a QEMU disk is rotational: loam-hdd). */
  let storageClass = '';

  before(async function () {
    cluster = await CsiCluster.start({ nodeName, poolDiskBytes: 2048 * MiB, controller: 'host' });
    await cluster.claimPoolDisk();
    await registerDriverOnNode(cluster.cp, nodeName);
    sidecars = await ProvisioningSidecars.start(cluster.cp, cluster.controllerSocket);
    storageClass = `loam-${cluster.mediaClass.toLowerCase()}`;
    const kc = cluster.cp.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    await kc.makeApiClient(StorageV1Api).createStorageClass({
      body: {
        metadata: { name: storageClass }, provisioner: 'lvm.loam.io', parameters: { poolClass: cluster.mediaClass },
        volumeBindingMode: 'WaitForFirstConsumer', allowVolumeExpansion: true, reclaimPolicy: 'Delete',
      },
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && cluster) console.log(`${await cluster.logs()}\n${sidecars?.logs() ?? ''}`);
  });

  after(async function () {
    await sidecars?.stop();
    await cluster?.stop();
  });

  const pvc = (name: string): Promise<V1PersistentVolumeClaim> => core.readNamespacedPersistentVolumeClaim({ name, namespace });
  const guestDfBytes = async (): Promise<number> => Number((await cluster.vm.runOk(`df -B1 --output=size ${target} | tail -1`)).trim());

  it('binds a PVC to a PV on the selected node; the LV serves a filesystem; resize grows LV and filesystem; delete removes both', async function () {
    const started = Date.now();
    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name: 'data', annotations: { 'volume.kubernetes.io/selected-node': nodeName } },
        spec: { storageClassName: storageClass, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } },
      },
    });
    let bound: V1PersistentVolumeClaim | undefined;
    await waitFor('PVC data to be Bound', async () => {
      bound = await pvc('data');
      return bound.status?.phase === 'Bound';
    }, 180_000, 250);
    noteFigure('PVC created to Bound (one volume)', `${((Date.now() - started) / 1000).toFixed(1)} s`);

    const pv: V1PersistentVolume = await core.readPersistentVolume({ name: bound!.spec!.volumeName! });
    const volumeId = pv.spec!.csi!.volumeHandle;
    assert.equal(pv.spec?.csi?.driver, 'lvm.loam.io');
    const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
    assert.deepEqual(terms.flatMap((t) => t.matchExpressions ?? []).map((e) => [e.key, e.operator, e.values]), [['topology.loam.io/node', 'In', [nodeName]]]);
    const lv = (await cluster.guestLvs()).find((l) => l.name === volumeId);
    assert.ok(lv && lv.sizeBytes >= 64 * MiB && lv.tags.includes('loam.io') && lv.active, `LV ${volumeId} in the guest: ${JSON.stringify(lv)}`);

    // What kubelet does when a pod starts on the node.
    await cluster.guestCalls(guestNodeSocket, 'Node', [
      ['NodeStageVolume', { volume_id: volumeId, staging_target_path: stage, volume_capability: mountCap, volume_context: pv.spec?.csi?.volumeAttributes ?? {} }],
      ['NodePublishVolume', { volume_id: volumeId, staging_target_path: stage, target_path: target, volume_capability: mountCap }],
    ]);
    await cluster.vm.runOk(`echo kept > ${target}/file.txt && sync`);
    const sizeBefore = await guestDfBytes();

    await core.patchNamespacedPersistentVolumeClaim({ name: 'data', namespace, body: { spec: { resources: { requests: { storage: '128Mi' } } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await waitFor(`LV ${volumeId} to grow to 128 MiB`, async () => ((await cluster.guestLvs()).find((l) => l.name === volumeId)?.sizeBytes ?? 0) >= 128 * MiB, 180_000, 500);
    await waitFor('the PV to show 128Mi', async () => (await core.readPersistentVolume({ name: pv.metadata!.name! })).spec?.capacity?.storage === '128Mi', 120_000, 500);
    const [expanded] = await cluster.guestCalls(guestNodeSocket, 'Node', [['NodeExpandVolume', { volume_id: volumeId, volume_path: target, capacity_range: { required_bytes: String(128 * MiB) } }]]) as Array<{ capacity_bytes: string }>;
    assert.ok(Number(expanded?.capacity_bytes) >= 128 * MiB);
    const sizeAfter = await guestDfBytes();
    assert.ok(sizeAfter > sizeBefore * 1.8, `df in the guest grew from ${sizeBefore} to ${sizeAfter}`);
    assert.equal((await cluster.vm.runOk(`cat ${target}/file.txt`)).trim(), 'kept');

    await cluster.guestCalls(guestNodeSocket, 'Node', [
      ['NodeUnpublishVolume', { volume_id: volumeId, target_path: target }],
      ['NodeUnstageVolume', { volume_id: volumeId, staging_target_path: stage }],
    ]);
    assert.notEqual((await cluster.vm.runScript(`test -e ${target}`)).exitCode, 0, 'the target is gone');
    await core.deleteNamespacedPersistentVolumeClaim({ name: 'data', namespace });
    await waitFor(`PV ${pv.metadata!.name} to be gone`, async () => (await core.readPersistentVolume({ name: pv.metadata!.name! }).then(() => false, () => true)), 180_000, 500);
    await waitFor(`LV ${volumeId} to be gone from the guest`, async () => !(await cluster.guestLvs()).some((l) => l.name === volumeId), 120_000, 500);
  });
});
