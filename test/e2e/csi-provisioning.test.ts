/**
 * Dynamic provisioning as Kubernetes does it, on real LVM in a VM (issue #8): the real
 * external-provisioner and external-resizer and kube-controller-manager on the host, loam-controller
 * serving the Controller service on a host socket, loam-node in the VM. A PVC of a Loam StorageClass
 * (WaitForFirstConsumer, with the node the scheduler picked) becomes Bound to a PV pinned to that
 * node, backed by an LV in the guest; the volume is staged and published in the guest (as kubelet
 * would) and holds a file; resizing the PVC grows the LV and NodeExpand the filesystem; deleting the
 * PVC removes the PV and the LV.
 *
 * The Node service on real LVs (the host kernel cannot make them, so these checks live here, not in
 * test/integration/csi-node): a device formatted once and never again, read-write and read-only
 * binds, SINGLE_NODE_SINGLE_WRITER, statistics equal to df, a block volume's bytes through its
 * target, xfs with its mount flags and its growth, and the refusals that keep data safe: an LV whose
 * replica-uid tag names another replica, and a filesystem other than the one requested.
 */
import assert from 'node:assert/strict';
import { CoreV1Api, PatchStrategy, setHeaderOptions, StorageV1Api, type V1PersistentVolume, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { waitFor } from '../../tools/testenv/wait.js';
import { noteFigure } from './harness/figures.js';
import { CsiCluster, guestNodeSocket } from '../sanity/csi-cluster.js';
import { CsiTestClient } from '../integration/csi-controller/support.js';
import { ProvisioningSidecars, registerDriverOnNode } from '../sanity/sidecars.js';

const MiB = 1024 ** 2;
const nodeName = 'vm-csi';
const namespace = 'default';
// Inside the kubelet directory, as loam-node requires (its default --kubelet-dir).
const stage = '/var/lib/kubelet/csi-e2e/staging';
const target = '/var/lib/kubelet/csi-e2e/target';
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
  it('the node service on real LVs: formats once, binds rw and ro, one single writer, stats = df, block bytes, xfs flags and growth; refuses another replica\'s LV and a wrong filesystem', async function () {
    const controller = new CsiTestClient(cluster.controllerSocket);
    const base = '/var/lib/kubelet/loam-node-e2e';
    const mount = (fsType: string, mode = 'SINGLE_NODE_WRITER', flags: string[] = []): object => ({ mount: { fs_type: fsType, mount_flags: flags }, access_mode: { mode } });
    const block = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
    const topology = { segments: { 'topology.loam.io/node': nodeName } };
    const create = async (name: string, bytes: number, cap: object, fsType = 'ext4'): Promise<string> => {
      const res = await controller.call<{ volume: { volume_id: string } }>('Controller', 'CreateVolume', {
        name, capacity_range: { required_bytes: String(bytes) }, volume_capabilities: [cap],
        parameters: { poolClass: cluster.mediaClass, 'csi.storage.k8s.io/fstype': fsType },
        accessibility_requirements: { requisite: [topology], preferred: [topology] },
      }, 240_000);
      return res.volume.volume_id;
    };
    const ext4 = await create('pvc-node-ext4', 64 * MiB, mount('ext4'));
    const xfs = await create('pvc-node-xfs', 320 * MiB, mount('xfs'), 'xfs');
    const raw = await create('pvc-node-block', 16 * MiB, block);
    const lvPath = (id: string): string => `/dev/${cluster.vgName}/${id}`;
    const guest = (script: string): Promise<string> => cluster.vm.runOk(script).then((out) => out.trim());
    const calls = (list: Array<[string, object]>): ReturnType<CsiCluster['guestCallOutcomes']> => cluster.guestCallOutcomes(guestNodeSocket, 'Node', list);
    const response = (o: Awaited<ReturnType<typeof calls>>[number] | undefined): Record<string, unknown> => {
      if (!o || !('response' in o)) throw new Error(`expected a response, got ${JSON.stringify(o)}`);
      return o.response;
    };
    const refusal = (o: Awaited<ReturnType<typeof calls>>[number] | undefined, code: string, pattern: RegExp): void => {
      assert.ok(o && 'code' in o, `expected a refusal, got ${JSON.stringify(o)}`);
      assert.equal(o.code, code, o.details);
      assert.match(o.details, pattern);
    };
    const s1 = `${base}/ext4/globalmount`;
    const s2 = `${base}/xfs/globalmount`;
    const s3 = `${base}/volumeDevices/staging/${raw}`;
    const [t1, t2, t3] = ['rw', 'ro', 'single'].map((p) => `${base}/pods/${p}/mount`);
    const t4 = `${base}/volumeDevices/publish/${raw}/pod`;
    await guest(`head -c 4096 /dev/urandom > /tmp/pattern && dd if=/tmp/pattern of=${lvPath(raw)} bs=4096 seek=256 conv=notrunc,fsync status=none`);

    // What kubelet does when pods start: ext4 made once and bound rw and ro; xfs with its flags; a block volume.
    const started = await calls([
      ['NodeStageVolume', { volume_id: ext4, staging_target_path: s1, volume_capability: mount('ext4') }],
      ['NodeStageVolume', { volume_id: ext4, staging_target_path: s1, volume_capability: mount('ext4') }],
      ['NodePublishVolume', { volume_id: ext4, staging_target_path: s1, target_path: t1, volume_capability: mount('ext4') }],
      ['NodePublishVolume', { volume_id: ext4, staging_target_path: s1, target_path: t2, volume_capability: mount('ext4'), readonly: true }],
      ['NodePublishVolume', { volume_id: ext4, staging_target_path: s1, target_path: t3, volume_capability: mount('ext4', 'SINGLE_NODE_SINGLE_WRITER') }],
      ['NodeGetVolumeStats', { volume_id: ext4, volume_path: t1 }],
      ['NodeStageVolume', { volume_id: ext4, staging_target_path: `${base}/ext4-as-xfs`, volume_capability: mount('xfs') }],
      ['NodeStageVolume', { volume_id: xfs, staging_target_path: s2, volume_capability: mount('xfs', 'SINGLE_NODE_WRITER', ['noatime']) }],
      ['NodeStageVolume', { volume_id: raw, staging_target_path: s3, volume_capability: block }],
      ['NodePublishVolume', { volume_id: raw, staging_target_path: s3, target_path: t4, volume_capability: block }],
      ['NodePublishVolume', { volume_id: raw, staging_target_path: s3, target_path: t4, volume_capability: block }],
      ['NodeGetVolumeStats', { volume_id: raw, volume_path: t4 }],
    ]);
    for (const i of [0, 1, 2, 3, 7, 8, 9, 10]) response(started[i]);
    refusal(started[4], 'FAILED_PRECONDITION', /SINGLE_NODE_SINGLE_WRITER and is already published at/);
    refusal(started[6], 'FAILED_PRECONDITION', /holds a ext4 filesystem but xfs was requested/);
    const stats = response(started[5]) as { usage: Array<{ unit: string; total: string; used: string; available: string }>; volume_condition: { abnormal: boolean } };
    const df = (await guest(`df -B1 --output=size,used,avail ${t1} | tail -1`)).split(/\s+/).map(Number);
    const bytes = stats.usage.find((u) => u.unit === 'BYTES')!;
    assert.deepEqual([Number(bytes.total), Number(bytes.used), Number(bytes.available)], df, 'NodeGetVolumeStats = df');
    assert.equal(stats.volume_condition.abnormal, false);
    assert.equal(Number((response(started[11]) as { usage: Array<{ total: string }> }).usage[0]!.total), 16 * MiB, 'a block volume\'s stats: its size');
    assert.equal(await guest(`findmnt -n -o SOURCE --mountpoint ${s1} | wc -l`), '1', 'staged once, not stacked');
    const written = await cluster.vm.runScript(`echo precious > ${t1}/keep.txt && cat ${t2}/keep.txt && echo nope > ${t2}/x.txt`);
    assert.match(written.stdout, /precious/, 'the read-only target shows the same filesystem');
    assert.match(`${written.stdout}${written.stderr}`, /Read-only file system/, 'a write through the read-only target is refused');
    assert.notEqual((await cluster.vm.runScript(`test -e ${t3}`)).exitCode, 0, 'no target made for the refused single-writer publish');
    assert.equal(await guest(`blkid -p -o value -s TYPE ${lvPath(xfs)}`), 'xfs');
    assert.match(await guest(`findmnt -n -o OPTIONS --mountpoint ${s2}`), /noatime/);
    await guest(`test -b ${t4} && dd if=${t4} bs=4096 skip=256 count=1 status=none | cmp - /tmp/pattern`);
    const ext4Uuid = await guest(`blkid -p -o value -s UUID ${lvPath(ext4)}`);
    const xfsBefore = Number(await guest(`df -B1 --output=size ${s2} | tail -1`));

    // Pods end and one comes back; the xfs volume grows.
    await controller.call('Controller', 'ControllerExpandVolume', { volume_id: xfs, capacity_range: { required_bytes: String(480 * MiB) }, volume_capability: mount('xfs') }, 180_000);
    const cycled = await calls([
      ['NodeUnpublishVolume', { volume_id: ext4, target_path: t1 }],
      ['NodeUnpublishVolume', { volume_id: ext4, target_path: t2 }],
      ['NodeUnstageVolume', { volume_id: ext4, staging_target_path: s1 }],
      ['NodeStageVolume', { volume_id: ext4, staging_target_path: s1, volume_capability: mount('ext4') }],
      ['NodeUnpublishVolume', { volume_id: raw, target_path: t4 }],
      ['NodeExpandVolume', { volume_id: xfs, volume_path: s2, capacity_range: { required_bytes: String(480 * MiB) } }],
    ]);
    cycled.forEach((o) => response(o));
    assert.equal(await guest(`cat ${s1}/keep.txt`), 'precious', 'data survives unstage and stage (never reformatted)');
    assert.equal(await guest(`blkid -p -o value -s UUID ${lvPath(ext4)}`), ext4Uuid, 'the same filesystem');
    assert.notEqual((await cluster.vm.runScript(`test -e ${t4}`)).exitCode, 0, 'the block target file Loam made is removed');
    assert.equal(await guest(`blkid -p -o value -s TYPE ${lvPath(raw)} || true`), '', 'a block volume is never formatted');
    assert.ok(Number((response(cycled[5]) as { capacity_bytes: string }).capacity_bytes) >= 480 * MiB);
    const xfsAfter = Number(await guest(`df -B1 --output=size ${s2} | tail -1`));
    assert.ok(xfsAfter > xfsBefore * 1.4, `xfs grew from ${xfsBefore} to ${xfsAfter}`);

    // The LV as if left by an earlier replica of the same name: its replica-uid tag names another replica.
    const tag = (await cluster.guestLvs()).find((l) => l.name === ext4)!.tags.find((t) => t.startsWith('loam.io/replica-uid='))!;
    const other = 'loam.io/replica-uid=00000000-0000-4000-8000-000000000000';
    await guest(`lvm lvchange --deltag ${tag} --addtag ${other} ${cluster.vgName}/${ext4}`);
    const foreign = await calls([
      ['NodePublishVolume', { volume_id: ext4, staging_target_path: s1, target_path: `${base}/pods/foreign/mount`, volume_capability: mount('ext4') }],
      ['NodeUnstageVolume', { volume_id: ext4, staging_target_path: s1 }],
      ['NodeUnstageVolume', { volume_id: xfs, staging_target_path: s2 }],
    ]);
    await guest(`lvm lvchange --deltag ${other} --addtag ${tag} ${cluster.vgName}/${ext4}`);
    refusal(foreign[0], 'FAILED_PRECONDITION', new RegExp(`LV ${cluster.vgName}/${ext4} was made for replica 00000000-0000-4000-8000-000000000000, not for .*; Loam does not expose it`));
    response(foreign[1]);
    response(foreign[2]);
    assert.notEqual((await cluster.vm.runScript(`test -e ${base}/pods/foreign/mount`)).exitCode, 0, 'no target made for the refused publish');

    for (const id of [ext4, xfs, raw]) await controller.call('Controller', 'DeleteVolume', { volume_id: id }, 180_000);
    controller.close();
    await waitFor('the three LVs to be gone', async () => !(await cluster.guestLvs()).some((l) => [ext4, xfs, raw].includes(l.name)), 120_000, 500);
  });
});
