/**
 * The CSI node service against the real API server and real loop devices on the host: the replica
 * object names a loop device the way the node agent names an LV, and every RPC is checked by what
 * the system then shows (blkid, mountinfo, df, file contents, EROFS). The host kernel has loop,
 * ext4 and xfs, so both filesystems are made and mounted here, and xfs is grown. Online growth of
 * ext4 needs CAP_SYS_RESOURCE, which this host's runtime drops, so it is proven in the VM tier
 * (test/sanity, test/e2e/csi-provisioning.test.ts), as are LVs and the LV condition.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readFile, stat, truncate, writeFile } from 'node:fs/promises';
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
import { blkidType, createReplica, deleteReplicas, df, isMountPoint, Scratch } from './support.js';

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

describe('CSI node service on the host (real API server, loop devices, ext4 and xfs)', function () {
  this.timeout(120_000);
  const nodeName = uniqueNodeName('csi-node');
  const loops = new LoopDevices();
  const scratch = new Scratch();
  let c: KubeClients;
  let svc: CsiNodeService;
  const files: Record<string, string> = {};
  const devices: Record<string, string> = {};

  /** A loop device of `sizeMiB` behind volume `volumeId`, as the node agent would report its LV. */
  async function volume(volumeId: string, sizeMiB: number): Promise<string> {
    files[volumeId] = await loops.sparseFile(sizeMiB * MiB, `${volumeId}.img`);
    devices[volumeId] = await loops.attachAnywhere(files[volumeId]);
    // A loop node keeps a read-only flag (blockdev --setro) across attaches; ours must be writable.
    await execa('blockdev', ['--setrw', devices[volumeId]]);
    await createReplica(c, volumeId, nodeName, devices[volumeId], sizeMiB * MiB);
    return devices[volumeId];
  }

  before(async () => {
    c = clients();
    await scratch.create();
    svc = createNodeService({ nodeName, clients: c, expandWaitMs: 1_000 });
    await svc.start();
  });

  after(async () => {
    await svc?.stop();
    await scratch.cleanup();
    await loops.cleanup();
    if (c) await deleteReplicas(c, nodeName);
  });

  describe('ext4', () => {
    const vol = 'pvc-ext4';
    let stage: string;

    before(async () => {
      await volume(vol, 64);
      stage = scratch.path('stage-ext4');
    });

    it('NodeStage makes ext4 on the empty device and mounts it; a second NodeStage succeeds and changes nothing', async () => {
      assert.equal(await blkidType(devices[vol]!), '', 'the device starts empty');
      await svc.NodeStageVolume({ volume_id: vol, staging_target_path: stage, volume_capability: mountCap('ext4') });
      assert.equal(await blkidType(devices[vol]!), 'ext4');
      assert.ok(await isMountPoint(stage), 'the staging path is a mount point');
      const before = (await execa('blkid', ['-p', '-o', 'value', '-s', 'UUID', devices[vol]!])).stdout;
      await svc.NodeStageVolume({ volume_id: vol, staging_target_path: stage, volume_capability: mountCap('ext4') });
      assert.equal((await execa('blkid', ['-p', '-o', 'value', '-s', 'UUID', devices[vol]!])).stdout, before, 'same filesystem (not made again)');
      assert.equal((await execa('findmnt', ['-n', '-o', 'SOURCE', '--mountpoint', stage])).stdout.split('\n').length, 1, 'mounted once, not stacked');
    });

    it('data survives unstage and stage again (never reformatted)', async () => {
      await writeFile(`${stage}/keep.txt`, 'precious');
      await svc.NodeUnstageVolume({ volume_id: vol, staging_target_path: stage });
      assert.equal(await isMountPoint(stage), false, 'unstaged');
      await svc.NodeUnstageVolume({ volume_id: vol, staging_target_path: stage });
      await svc.NodeStageVolume({ volume_id: vol, staging_target_path: stage, volume_capability: mountCap('ext4') });
      assert.equal(await readFile(`${stage}/keep.txt`, 'utf8'), 'precious');
    });

    it('NodePublish bind-mounts read-write; a read-only publish refuses writes with EROFS', async () => {
      const rw = scratch.path('pod-rw', 'mount');
      const ro = scratch.path('pod-ro', 'mount');
      await svc.NodePublishVolume({ volume_id: vol, staging_target_path: stage, target_path: rw, volume_capability: mountCap('ext4') });
      await svc.NodePublishVolume({ volume_id: vol, staging_target_path: stage, target_path: rw, volume_capability: mountCap('ext4') });
      await writeFile(`${rw}/from-pod.txt`, 'hello');
      assert.equal(await readFile(`${stage}/from-pod.txt`, 'utf8'), 'hello', 'the target shows the staged filesystem');

      await svc.NodePublishVolume({ volume_id: vol, staging_target_path: stage, target_path: ro, volume_capability: mountCap('ext4'), readonly: true });
      assert.equal(await readFile(`${ro}/from-pod.txt`, 'utf8'), 'hello');
      await assert.rejects(writeFile(`${ro}/nope.txt`, 'x'), (err: NodeJS.ErrnoException) => err.code === 'EROFS');
      await writeFile(`${rw}/still-writable.txt`, 'yes');

      for (const target of [rw, ro]) {
        await svc.NodeUnpublishVolume({ volume_id: vol, target_path: target });
        await assert.rejects(stat(target), (err: NodeJS.ErrnoException) => err.code === 'ENOENT', `${target} removed`);
        await svc.NodeUnpublishVolume({ volume_id: vol, target_path: target });
      }
      assert.equal(await readFile(`${stage}/still-writable.txt`, 'utf8'), 'yes', 'unpublish leaves the staged volume alone');
    });

    it('SINGLE_NODE_SINGLE_WRITER: a second target is refused with FAILED_PRECONDITION while the first is published', async () => {
      const single: VolumeCapability = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_SINGLE_WRITER' } };
      const first = scratch.path('pod-one', 'mount');
      const second = scratch.path('pod-two', 'mount');
      await svc.NodePublishVolume({ volume_id: vol, staging_target_path: stage, target_path: first, volume_capability: single });
      await svc.NodePublishVolume({ volume_id: vol, staging_target_path: stage, target_path: first, volume_capability: single });
      await assert.rejects(svc.NodePublishVolume({ volume_id: vol, staging_target_path: stage, target_path: second, volume_capability: single }), csiCode(status.FAILED_PRECONDITION, /already published at .*pod-one/));
      await assert.rejects(stat(second), (err: NodeJS.ErrnoException) => err.code === 'ENOENT', 'no target left behind by the refusal');
      await svc.NodeUnpublishVolume({ volume_id: vol, target_path: first });
      await svc.NodePublishVolume({ volume_id: vol, staging_target_path: stage, target_path: second, volume_capability: single });
      await svc.NodeUnpublishVolume({ volume_id: vol, target_path: second });
    });

    it('NodeGetVolumeStats equals df in bytes and inodes and reports a normal condition', async () => {
      const stats = await svc.NodeGetVolumeStats({ volume_id: vol, volume_path: stage });
      const printed = await df(stage);
      const bytes = stats.usage?.find((u) => u.unit === 'BYTES');
      const inodes = stats.usage?.find((u) => u.unit === 'INODES');
      assert.deepEqual([bytes?.total, bytes?.used, bytes?.available], [printed.size, printed.used, printed.avail]);
      assert.deepEqual([inodes?.total, inodes?.used, inodes?.available], [printed.itotal, printed.iused, printed.iavail]);
      assert.equal(stats.volume_condition?.abnormal, false);
      await assert.rejects(svc.NodeGetVolumeStats({ volume_id: vol, volume_path: scratch.path('nowhere') }), csiCode(status.NOT_FOUND, /does not exist/));
    });

    it('NodeExpand asking for more than the device holds waits for it, then answers UNAVAILABLE (the LV has not grown yet); data stays', async () => {
      const started = Date.now();
      await assert.rejects(svc.NodeExpandVolume({ volume_id: vol, volume_path: stage, capacity_range: { required_bytes: 128 * MiB } }), csiCode(status.UNAVAILABLE, /67108864 bytes, less than the 134217728 requested/));
      assert.ok(Date.now() - started >= 1_000, 'waited for the device to grow');
      assert.equal(await readFile(`${stage}/keep.txt`, 'utf8'), 'precious');
    });
  });

  describe('xfs', () => {
    const vol = 'pvc-xfs';
    let stage: string;

    before(async () => {
      await volume(vol, 320);
      stage = scratch.path('stage-xfs');
    });

    it('NodeStage makes xfs when asked; NodeExpand waits for the device to grow, then grows xfs with xfs_growfs', async () => {
      await svc.NodeStageVolume({ volume_id: vol, staging_target_path: stage, volume_capability: mountCap('xfs', ['noatime']) });
      assert.equal(await blkidType(devices[vol]!), 'xfs');
      const options = (await execa('findmnt', ['-n', '-o', 'OPTIONS', '--mountpoint', stage])).stdout;
      assert.match(options, /noatime/, 'mount flags applied');
      const sizeBefore = (await df(stage)).size;
      // NodeExpand asked before the device grew waits for it (ControllerExpand may answer before lvextend).
      const expanding = svc.NodeExpandVolume({ volume_id: vol, volume_path: stage, capacity_range: { required_bytes: 640 * MiB } });
      await new Promise((r) => setTimeout(r, 300));
      await truncate(files[vol]!, 640 * MiB);
      await execa('losetup', ['-c', devices[vol]!]);
      assert.equal(Number((await expanding).capacity_bytes), 640 * MiB);
      const sizeAfter = (await df(stage)).size;
      assert.ok(sizeAfter > sizeBefore * 1.8, `df size grew from ${sizeBefore} to ${sizeAfter}`);
      await svc.NodeUnstageVolume({ volume_id: vol, staging_target_path: stage });
    });

    it('an xfs device requested as ext4 is refused with FAILED_PRECONDITION and its data is untouched', async () => {
      const probe = scratch.path('probe-xfs');
      await svc.NodeStageVolume({ volume_id: vol, staging_target_path: probe, volume_capability: mountCap('xfs') });
      await writeFile(`${probe}/data.bin`, 'xfs data');
      await svc.NodeUnstageVolume({ volume_id: vol, staging_target_path: probe });
      const uuid = (await execa('blkid', ['-p', '-o', 'value', '-s', 'UUID', devices[vol]!])).stdout;

      await assert.rejects(svc.NodeStageVolume({ volume_id: vol, staging_target_path: stage, volume_capability: mountCap('ext4') }), csiCode(status.FAILED_PRECONDITION, /holds a xfs filesystem but ext4 was requested/));
      assert.equal(await isMountPoint(stage), false, 'nothing mounted');
      assert.equal((await execa('blkid', ['-p', '-o', 'value', '-s', 'UUID', devices[vol]!])).stdout, uuid, 'same xfs filesystem');
      await svc.NodeStageVolume({ volume_id: vol, staging_target_path: probe, volume_capability: mountCap('xfs') });
      assert.equal(await readFile(`${probe}/data.bin`, 'utf8'), 'xfs data');
      await svc.NodeUnstageVolume({ volume_id: vol, staging_target_path: probe });
    });
  });

  describe('block', () => {
    const vol = 'pvc-block';

    it('NodePublish binds the device node onto the target file: the same bytes read through it; unpublish removes the file', async () => {
      const device = await volume(vol, 16);
      const pattern = randomBytes(4096);
      const fh = await open(device, 'r+');
      await fh.write(pattern, 0, pattern.length, 1 * MiB);
      await fh.close();
      const stage = scratch.path('stage-block');
      const target = scratch.path('pod-block', 'dev');
      await svc.NodeStageVolume({ volume_id: vol, staging_target_path: stage, volume_capability: blockCap });
      await svc.NodePublishVolume({ volume_id: vol, staging_target_path: stage, target_path: target, volume_capability: blockCap });
      await svc.NodePublishVolume({ volume_id: vol, staging_target_path: stage, target_path: target, volume_capability: blockCap });
      assert.ok((await stat(target)).isBlockDevice(), 'the target is the block device');
      const read = Buffer.alloc(4096);
      const th = await open(target, 'r');
      await th.read(read, 0, read.length, 1 * MiB);
      await th.close();
      assert.ok(read.equals(pattern), 'same bytes through the target');
      const stats = await svc.NodeGetVolumeStats({ volume_id: vol, volume_path: target });
      assert.equal(stats.usage?.[0]?.total, 16 * MiB);
      await svc.NodeUnpublishVolume({ volume_id: vol, target_path: target });
      await assert.rejects(stat(target), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
      assert.equal(await blkidType(device), '', 'a block volume is never formatted');
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

    it('serves NodeGetInfo, NodeGetCapabilities and a stage/unstage round trip; refusals carry their gRPC code', async () => {
      const info = await call<object, { node_id: string; accessible_topology: { segments: Record<string, string> } }>('NodeGetInfo', {});
      assert.equal(info.node_id, nodeName);
      assert.deepEqual(info.accessible_topology.segments, { 'topology.loam.io/node': nodeName });
      const caps = await call<object, { capabilities: Array<{ rpc: { type: string } }> }>('NodeGetCapabilities', {});
      assert.deepEqual(caps.capabilities.map((c) => c.rpc.type), ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'VOLUME_CONDITION', 'SINGLE_NODE_MULTI_WRITER']);

      const vol = 'pvc-grpc';
      await volume(vol, 32);
      const stage = scratch.path('stage-grpc');
      await call('NodeStageVolume', { volume_id: vol, staging_target_path: stage, volume_capability: mountCap('ext4') });
      assert.ok(await isMountPoint(stage));
      const stats = await call<object, { usage: Array<{ unit: string; total: string }>; volume_condition: { abnormal: boolean } }>('NodeGetVolumeStats', { volume_id: vol, volume_path: stage });
      assert.equal(Number(stats.usage.find((u) => u.unit === 'BYTES')?.total), (await df(stage)).size);
      assert.equal(stats.volume_condition.abnormal, false);
      await call('NodeUnstageVolume', { volume_id: vol, staging_target_path: stage });
      assert.equal(await isMountPoint(stage), false);

      await assert.rejects(call('NodeStageVolume', { volume_id: vol, staging_target_path: stage }), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /volume_capability is required/.test(err.details));
      await assert.rejects(call('NodeExpandVolume', { volume_id: 'pvc-nowhere', volume_path: 'some/path' }), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND);
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
});
