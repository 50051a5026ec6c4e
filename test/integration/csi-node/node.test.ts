/**
 * The CSI node service on the host against the real API server: what it refuses, and what it never
 * touches. The host kernel cannot make LVs, so everything that stages, publishes, measures or grows
 * a real LV runs in the VM tier (test/e2e/csi-provisioning.test.ts, test/sanity). Here a replica's
 * status names a loop device holding a filesystem — as anyone allowed to patch
 * localvolumereplicas/status could make it do — and the service must neither format, mount nor
 * bind it; and paths are checked against a kubelet directory (a scratch folder).
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { execa } from 'execa';
import * as grpc from '@grpc/grpc-js';
import { CsiError } from '../../../src/csi/errors.js';
import type { VolumeCapability } from '../../../src/csi/generated/csi/v1/VolumeCapability.js';
import { createNodeService, type CsiNodeService } from '../../../src/csi/node-service.js';
import { CsiServer, csiGrpcObject } from '../../../src/csi/server.js';
import type { NodeClient } from '../../../src/csi/generated/csi/v1/Node.js';
import type { KubeClients } from '../../../src/kube/index.js';
import { clients, uniqueNodeName } from '../ldm-node/support.js';
import { LoopDevices } from '../udev/support/loop.js';
import { blkidType, createReplica, deleteReplicas, isMountPoint, Scratch } from './support.js';

const MiB = 1024 * 1024;

const mountCap = (fsType: string, flags: string[] = []): VolumeCapability => ({ mount: { fs_type: fsType, mount_flags: flags }, access_mode: { mode: 'SINGLE_NODE_WRITER' } });
const blockCap: VolumeCapability = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

function csiCode(code: status, text: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof CsiError, `a CsiError, got ${String(err)}`);
    assert.equal(err.code, code, `code ${status[code]}, got ${status[err.code]}: ${err.message}`);
    assert.match(err.details, text);
    return true;
  };
}

const gone = (err: NodeJS.ErrnoException): boolean => err.code === 'ENOENT';

describe('CSI node service on the host (real API server; paths confined to a kubelet directory)', function () {
  this.timeout(120_000);
  const nodeName = uniqueNodeName('csi-node');
  const loops = new LoopDevices();
  const scratch = new Scratch();
  let c: KubeClients;
  let svc: CsiNodeService;

  before(async () => {
    c = clients();
    await scratch.create();
    svc = createNodeService({ nodeName, clients: c, expandWaitMs: 1_000, kubeletDir: scratch.dir });
    await svc.start();
  });

  after(async () => {
    await svc?.stop();
    await scratch.cleanup();
    await loops.cleanup();
    if (c) await deleteReplicas(c, nodeName);
  });

  describe('a replica whose status.devicePath was patched to name a disk', () => {
    const empty = 'pvc-patched-empty';
    const full = 'pvc-patched-ext4';
    const devices: Record<string, string> = {};

    before(async () => {
      for (const vol of [empty, full]) {
        devices[vol] = await loops.attachAnywhere(await loops.sparseFile(32 * MiB, `${vol}.img`));
        await execa('blockdev', ['--setrw', devices[vol]]);
      }
      await execa('mkfs.ext4', ['-q', devices[full]!]);
      // The replicas are Loam's (spec: pool loam-ssd, LV = volume); only their status lies.
      for (const vol of [empty, full]) await createReplica(c, vol, nodeName, devices[vol]!, 32 * MiB);
    });

    it('NodeStage, NodePublish and NodeExpand use the LV the spec names, which LVM does not report: UNAVAILABLE, and the disk is neither formatted, mounted nor bound', async () => {
      const uuid = (await execa('blkid', ['-p', '-o', 'value', '-s', 'UUID', devices[full]!])).stdout;
      for (const vol of [empty, full]) {
        const stage = scratch.path(`stage-${vol}`);
        const target = scratch.path('pods', vol, 'dev');
        const notThere = csiCode(status.UNAVAILABLE, new RegExp(`^LV loam-ssd/${vol} of volume ${vol} does not exist on this node yet`));
        await assert.rejects(svc.NodeStageVolume({ volume_id: vol, staging_target_path: stage, volume_capability: mountCap('ext4') }), notThere);
        assert.equal(await isMountPoint(stage), false, `${vol}: nothing mounted at the staging path`);
        await assert.rejects(svc.NodePublishVolume({ volume_id: vol, staging_target_path: stage, target_path: target, volume_capability: blockCap }), notThere);
        await assert.rejects(stat(target), gone, `${vol}: no publish target made`);
        await assert.rejects(svc.NodeExpandVolume({ volume_id: vol, volume_path: stage, capacity_range: { required_bytes: 64 * MiB } }), notThere);
      }
      assert.equal(await blkidType(devices[empty]!), '', 'the empty disk was not formatted');
      assert.equal((await execa('blkid', ['-p', '-o', 'value', '-s', 'UUID', devices[full]!])).stdout, uuid, 'the ext4 disk holds the same filesystem');
      const mounted = (await execa('findmnt', ['-rn', '-o', 'SOURCE'])).stdout.split('\n');
      assert.ok(!mounted.includes(devices[empty]!) && !mounted.includes(devices[full]!), 'neither disk is mounted anywhere');
    });
  });

  describe('paths: inside the kubelet directory, and only what Loam made is removed', () => {
    let outside = '';
    before(async () => {
      outside = await mkdtemp(path.join(os.tmpdir(), 'loam-csi-outside-'));
    });
    after(async () => rm(outside, { recursive: true, force: true }));

    it('NodeUnpublish leaves a foreign file, a non-empty directory and a symlink in place, and refuses paths outside', async () => {
      const foreignFile = scratch.path('pods', 'p1', 'volumes', 'kubernetes.io~csi', 'pv', 'mount');
      await mkdir(path.dirname(foreignFile), { recursive: true });
      await writeFile(foreignFile, 'not Loam\'s');
      await svc.NodeUnpublishVolume({ volume_id: 'pvc-foreign', target_path: foreignFile });
      assert.equal(await readFile(foreignFile, 'utf8'), 'not Loam\'s', 'a file with bytes is not a target Loam made');

      const fullDir = scratch.path('pods', 'p2', 'mount');
      await mkdir(fullDir, { recursive: true });
      await writeFile(path.join(fullDir, 'data'), 'x');
      await svc.NodeUnpublishVolume({ volume_id: 'pvc-foreign', target_path: fullDir });
      assert.equal(await readFile(path.join(fullDir, 'data'), 'utf8'), 'x', 'a directory with entries stays, with them');

      const precious = path.join(outside, 'precious');
      await writeFile(precious, 'keep');
      const link = scratch.path('pods', 'p3', 'mount');
      await mkdir(path.dirname(link), { recursive: true });
      await symlink(precious, link);
      await assert.rejects(svc.NodeUnpublishVolume({ volume_id: 'pvc-foreign', target_path: link }), csiCode(status.INVALID_ARGUMENT, /target_path .* is a symbolic link/));
      await assert.rejects(svc.NodeUnpublishVolume({ volume_id: 'pvc-foreign', target_path: precious }), csiCode(status.INVALID_ARGUMENT, /target_path .* must be inside the kubelet directory/));
      await assert.rejects(svc.NodeUnpublishVolume({ volume_id: 'pvc-foreign', target_path: `${scratch.dir}/pods/../../${path.basename(outside)}/precious` }), csiCode(status.INVALID_ARGUMENT, /must not contain "\.\."/));
      await symlink(outside, scratch.path('pods', 'escape'));
      await assert.rejects(svc.NodeUnpublishVolume({ volume_id: 'pvc-foreign', target_path: scratch.path('pods', 'escape', 'precious') }), csiCode(status.INVALID_ARGUMENT, /leads outside the kubelet directory/));
      await assert.rejects(svc.NodeUnstageVolume({ volume_id: 'pvc-foreign', staging_target_path: outside }), csiCode(status.INVALID_ARGUMENT, /staging_target_path .* must be inside the kubelet directory/));
      assert.ok((await lstat(link)).isSymbolicLink(), 'the link stays');
      assert.equal(await readFile(precious, 'utf8'), 'keep', 'the file outside stays');

      // What Loam makes goes: an empty directory (mount) and an empty file (block).
      const emptyDir = scratch.path('pods', 'p4', 'mount');
      const emptyFile = scratch.path('pods', 'p5', 'dev');
      await mkdir(emptyDir, { recursive: true });
      await mkdir(path.dirname(emptyFile), { recursive: true });
      await writeFile(emptyFile, '');
      for (const target of [emptyDir, emptyFile]) {
        await svc.NodeUnpublishVolume({ volume_id: 'pvc-foreign', target_path: target });
        await assert.rejects(lstat(target), gone, `${target} removed`);
      }
    });

    it('NodeUnstage and NodeUnpublish undo mounts from the mount table alone (no replica, no LV needed), and leave the staging directory', async () => {
      const stage = scratch.path('plugins', 'stage-tmpfs');
      const target = scratch.path('pods', 'p6', 'mount');
      await mkdir(stage, { recursive: true });
      await mkdir(target, { recursive: true });
      await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', stage]);
      await execa('mount', ['--bind', stage, target]);
      await svc.NodeUnpublishVolume({ volume_id: 'pvc-unknown', target_path: target });
      assert.equal(await isMountPoint(target), false);
      await assert.rejects(stat(target), gone, 'the target is removed once unmounted');
      await svc.NodeUnstageVolume({ volume_id: 'pvc-unknown', staging_target_path: stage });
      assert.equal(await isMountPoint(stage), false);
      assert.ok((await stat(stage)).isDirectory(), 'the staging directory belongs to the CO and stays');
    });
  });

  describe('volumes this node does not hold', () => {
    it('NodeStage, NodeGetVolumeStats and NodeExpand answer NOT_FOUND; unpublish and unstage of unknown paths succeed', async () => {
      const none = 'pvc-nowhere';
      await assert.rejects(svc.NodeStageVolume({ volume_id: none, staging_target_path: scratch.path('s'), volume_capability: mountCap('ext4') }), csiCode(status.NOT_FOUND, /no replica on node/));
      await assert.rejects(svc.NodeGetVolumeStats({ volume_id: none, volume_path: scratch.path('s') }), csiCode(status.NOT_FOUND, /no replica/));
      await assert.rejects(svc.NodeExpandVolume({ volume_id: none, volume_path: 'some/path' }), csiCode(status.NOT_FOUND, /no replica/));
      await svc.NodeUnpublishVolume({ volume_id: none, target_path: scratch.path('never-published') });
      await svc.NodeUnstageVolume({ volume_id: none, staging_target_path: scratch.path('never-staged') });
    });
  });

  describe('over the gRPC socket', () => {
    let server: CsiServer;
    let client: NodeClient;
    const call = <Req, Res>(method: keyof NodeClient, req: Req): Promise<Res> => new Promise((resolve, reject) => {
      (client[method] as (r: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => void).call(client, req, (err, res) => (err ? reject(err) : resolve(res)));
    });

    before(async () => {
      server = new CsiServer({ endpoint: `unix://${scratch.path('node.sock')}` }).addNode(svc);
      await server.start();
      client = new (csiGrpcObject().csi.v1.Node)(`unix:${scratch.path('node.sock')}`, grpc.credentials.createInsecure());
    });

    after(async () => {
      client?.close();
      await server?.stop();
    });

    it('serves NodeGetInfo and NodeGetCapabilities; refusals carry their gRPC code', async () => {
      const info = await call<object, { node_id: string; accessible_topology: { segments: Record<string, string> } }>('NodeGetInfo', {});
      assert.equal(info.node_id, nodeName);
      assert.deepEqual(info.accessible_topology.segments, { 'topology.loam.io/node': nodeName });
      const caps = await call<object, { capabilities: Array<{ rpc: { type: string } }> }>('NodeGetCapabilities', {});
      assert.deepEqual(caps.capabilities.map((x) => x.rpc.type), ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'VOLUME_CONDITION', 'SINGLE_NODE_MULTI_WRITER']);
      await assert.rejects(call('NodeStageVolume', { volume_id: 'pvc-x', staging_target_path: scratch.path('s') }), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /volume_capability is required/.test(err.details));
      await assert.rejects(call('NodePublishVolume', { volume_id: 'pvc-x', staging_target_path: scratch.path('s'), target_path: '/nonexistent-loam/hostname', volume_capability: mountCap('ext4') }), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /must be inside the kubelet directory/.test(err.details));
      await assert.rejects(call('NodeExpandVolume', { volume_id: 'pvc-nowhere', volume_path: 'some/path' }), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND);
    });
  });
});
