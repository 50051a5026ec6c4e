/**
 * loam-node registers lvm.loam.io with the kubelet itself: this test is the kubelet's plugin
 * watcher, with a gRPC client made from Loam's pluginregistration.proto, on the real socket of a
 * real loam-node process (API server of the integration tier). GetInfo names the CSI socket;
 * NotifyRegistrationStatus decides loam-node's /readyz; a removed socket comes back.
 */
import assert from 'node:assert/strict';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { execa } from 'execa';
import type { RegistrationClient } from '../../../src/csi/generated/pluginregistration/Registration.js';
import { registrationGrpcObject } from '../../../src/csi/registration.js';
import { freePort } from '../../../tools/testenv/ports.js';
import { StopWaiting, waitFor } from '../../../tools/testenv/wait.js';
import { socketDir } from '../csi-controller/support.js';
import { uniqueNodeName } from '../ldm-node/support.js';
import { controlPlane } from '../setup.js';

/** The kubelet's side of the registration socket. */
function kubeletClient(socket: string): { getInfo: () => Promise<unknown>; notify: (registered: boolean, error?: string) => Promise<unknown>; close: () => void } {
  const client = new (registrationGrpcObject().pluginregistration.Registration)(`unix:${socket}`, grpc.credentials.createInsecure()) as RegistrationClient;
  const deadline = (): grpc.CallOptions => ({ deadline: Date.now() + 10_000 });
  return {
    getInfo: () => new Promise((resolve, reject) => client.GetInfo({}, deadline(), (err, res) => (err ? reject(err) : resolve(res)))),
    notify: (registered, error = '') => new Promise((resolve, reject) => client.NotifyRegistrationStatus({ plugin_registered: registered, error }, deadline(), (err, res) => (err ? reject(err) : resolve(res)))),
    close: () => client.close(),
  };
}

const isSocket = (p: string): Promise<boolean> => stat(p).then((s) => s.isSocket(), () => false);

describe('kubelet plugin registration served by loam-node', function () {
  this.timeout(120_000);

  it('GetInfo names lvm.loam.io and the CSI socket; the kubelet\'s verdict decides /readyz; a removed socket is served again; SIGTERM removes it', async () => {
    const dirs = await socketDir();
    const csiSocket = join(dirs.dir, 'csi.sock');
    const regDir = join(dirs.dir, 'plugins_registry');
    const regSocket = join(regDir, 'lvm.loam.io-reg.sock');
    const port = await freePort();
    const child = execa('node', ['--import', 'tsx', 'src/cmd/loam-node.ts', '--node-name', uniqueNodeName('reg'), '--kubeconfig', controlPlane().kubeconfigPath,
      '--local-storage', 'false', '--csi-endpoint', `unix://${csiSocket}`, '--registration-dir', regDir, '--health-listen', `127.0.0.1:${port}`], { reject: false, all: true });
    let log = '';
    child.all?.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-50_000); });
    const readyz = async (): Promise<[number, string]> => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      return [res.status, await res.text()];
    };
    let kubelet: ReturnType<typeof kubeletClient> | undefined;
    try {
      await waitFor('the registration socket', async () => {
        if (child.exitCode !== null) throw new StopWaiting(`loam-node exited ${child.exitCode}: ${log.slice(-3000)}`);
        return isSocket(regSocket);
      }, 30_000, 100);
      assert.equal((await stat(regSocket)).mode & 0o777, 0o600, 'only root (the kubelet) may connect');
      kubelet = kubeletClient(regSocket);
      assert.deepEqual(await kubelet.getInfo(), { type: 'CSIPlugin', name: 'lvm.loam.io', endpoint: csiSocket, supported_versions: ['1.0.0'] }, 'endpoint defaults to the path of --csi-endpoint');

      // Ready in every other respect (agents started), but the kubelet has not said anything yet.
      await waitFor('readyz to wait only for the kubelet', async () => /^kubelet-registration: /.test((await readyz())[1]), 60_000, 200);
      assert.deepEqual(await readyz(), [503, `kubelet-registration: the kubelet has not registered the driver yet (it reads ${regSocket})`]);

      await kubelet.notify(false, 'plugin lvm.loam.io: none of the versions [0.9.0] is supported');
      assert.deepEqual(await readyz(), [503, 'kubelet-registration: the kubelet refused the registration: plugin lvm.loam.io: none of the versions [0.9.0] is supported']);
      assert.match(log, /"level":"error","message":"the kubelet refused to register the driver"/);

      await kubelet.notify(true);
      assert.deepEqual(await readyz(), [200, 'ok']);

      // Someone cleans plugins_registry: loam-node serves the socket again, and is not ready until the kubelet registers it again.
      kubelet.close();
      await rm(regSocket);
      await waitFor('the registration socket to be served again', () => isSocket(regSocket), 20_000, 200);
      assert.equal((await readyz())[0], 503, 'not registered until the kubelet registers the new socket');
      kubelet = kubeletClient(regSocket);
      assert.equal(((await kubelet.getInfo()) as { name: string }).name, 'lvm.loam.io');
      await kubelet.notify(true);
      assert.deepEqual(await readyz(), [200, 'ok']);
    } finally {
      kubelet?.close();
      if (child.exitCode === null) child.kill('SIGTERM');
      const result = await child;
      assert.equal(result.exitCode, 0, `loam-node exit code after SIGTERM: ${log.slice(-2000)}`);
      assert.equal(await isSocket(regSocket), false, 'the registration socket is removed on a clean stop');
      await dirs.remove();
    }
  });
});
