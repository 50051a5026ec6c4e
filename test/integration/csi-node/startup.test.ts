/**
 * loam-node while the API server cannot be reached (a restart during an outage): the CSI socket is
 * served at once, NodeUnpublish and NodeUnstage work from the mount table alone (so kubelet can
 * end pods), and a call that needs a replica waits within its deadline, then answers UNAVAILABLE;
 * once the API server answers, that call goes through without a restart. The kubeconfig names a
 * relay to the test API server that is not listening (yet).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { execa } from 'execa';
import { createNodeService } from '../../../src/csi/node-service.js';
import { createKubeClients, loadKubeConfig } from '../../../src/kube/index.js';
import { freePort } from '../../../tools/testenv/ports.js';
import { StopWaiting, waitFor } from '../../../tools/testenv/wait.js';
import { CsiTestClient, grpcError, relayTo } from '../csi-controller/support.js';
import { uniqueNodeName } from '../ldm-node/support.js';
import { controlPlane } from '../setup.js';
import { isMountPoint, Scratch } from './support.js';

const mountCap = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' as const } };

describe('csi node before the API server can be reached', function () {
  this.timeout(120_000);
  const scratch = new Scratch();
  let relay: ReturnType<typeof relayTo>;
  let kubeconfig = '';
  let dir = '';

  before(async () => {
    const cp = controlPlane();
    const port = await freePort();
    relay = relayTo(cp.apiPort, port);
    dir = await mkdtemp(join(tmpdir(), 'loam-node-kc-'));
    kubeconfig = join(dir, 'kubeconfig');
    // The serving certificate names 127.0.0.1, so TLS holds through the relay's port.
    await cp.writeKubeconfig(kubeconfig, `https://127.0.0.1:${port}`);
    await scratch.create();
  });

  after(async () => {
    await relay?.close();
    await scratch.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loam-node serves its socket at once; unpublish and unstage undo mounts; a stage is UNAVAILABLE within its deadline; SIGTERM ends it cleanly', async () => {
    const socket = join(dir, 'node.sock');
    const started = Date.now();
    const child = execa('node', ['--import', 'tsx', 'src/cmd/loam-node.ts', '--node-name', uniqueNodeName('csi-outage'), '--kubeconfig', kubeconfig,
      '--local-storage', 'false', '--csi-endpoint', `unix://${socket}`, '--kubelet-dir', scratch.dir], { reject: false, all: true });
    let log = '';
    child.all?.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-50_000); });
    const client = new CsiTestClient(socket);
    try {
      await waitFor('loam-node to serve its CSI socket', async () => {
        if (child.exitCode !== null) throw new StopWaiting(`loam-node exited ${child.exitCode}: ${log.slice(-3000)}`);
        return stat(socket).then((s) => s.isSocket(), () => false);
      }, 30_000, 100);
      const servedAfter = Date.now() - started;
      assert.deepEqual(await client.call('Identity', 'Probe', {}), { ready: { value: true } }, 'ready: the node socket can serve unstage/unpublish, so a liveness probe must not restart it');

      // A pod's volume as kubelet left it: staged (a tmpfs stands in for the filesystem) and published.
      const stage = scratch.path('plugins', 'kubernetes.io', 'csi', 'lvm.loam.io', 'h', 'globalmount');
      const target = scratch.path('pods', 'uid1', 'volumes', 'kubernetes.io~csi', 'pv1', 'mount');
      await mkdir(stage, { recursive: true });
      await mkdir(target, { recursive: true });
      await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', stage]);
      await execa('mount', ['--bind', stage, target]);
      await client.call('Node', 'NodeUnpublishVolume', { volume_id: 'pvc-outage', target_path: target }, 10_000);
      await client.call('Node', 'NodeUnstageVolume', { volume_id: 'pvc-outage', staging_target_path: stage }, 10_000);
      assert.equal(await isMountPoint(target), false, 'unpublished');
      assert.equal(await isMountPoint(stage), false, 'unstaged');

      const asked = Date.now();
      await assert.rejects(client.call('Node', 'NodeStageVolume', { volume_id: 'pvc-outage', staging_target_path: stage, volume_capability: mountCap }, 3_000),
        grpcError(status.UNAVAILABLE, /has not loaded its LocalVolumeReplicas from the API server yet, so it cannot find volume pvc-outage; retry/));
      assert.ok(Date.now() - asked < 3_000, 'answered before the deadline');
      console.log(`      (socket served ${servedAfter} ms after start, API server unreachable)`);
    } finally {
      client.close();
      if (child.exitCode === null) child.kill('SIGTERM');
      const result = await child;
      assert.equal(result.exitCode, 0, `loam-node exit code after SIGTERM: ${log.slice(-2000)}`);
    }
  });

  it('a call that needs the replica cache goes through once the API server answers, without a restart', async () => {
    const svc = createNodeService({ nodeName: uniqueNodeName('csi-outage'), clients: createKubeClients(loadKubeConfig({ kubeconfigPath: kubeconfig })), kubeletDir: scratch.dir });
    try {
      await svc.start();
      const stage = scratch.path('plugins', 'later');
      const request = { volume_id: 'pvc-later', staging_target_path: stage, volume_capability: mountCap };
      await assert.rejects(svc.NodeStageVolume(request, { deadline: Date.now() + 2_000 }), (err: { code?: number; details?: string }) => err.code === status.UNAVAILABLE && /has not loaded its LocalVolumeReplicas/.test(err.details ?? ''));
      await relay.open();
      await assert.rejects(svc.NodeStageVolume(request, { deadline: Date.now() + 60_000 }), (err: { code?: number; details?: string }) => err.code === status.NOT_FOUND && /has no replica on node/.test(err.details ?? ''));
    } finally {
      await svc.stop();
    }
  });
});
