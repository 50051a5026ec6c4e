/**
 * /healthz and /readyz of loam-node and loam-controller, started as processes the way the other
 * integration tests start them, first while the API server cannot be reached (a relay that is not
 * listening yet), then once it can: alive (the CSI socket answers Probe) from the start, ready only
 * once the caches are filled. A CSI server that accepts calls but never answers fails liveness.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { execa, type ResultPromise } from 'execa';
import { IdentityProbe } from '../../../src/csi/identity-probe.js';
import { csiGrpcObject } from '../../../src/csi/server.js';
import { freePort } from '../../../tools/testenv/ports.js';
import { StopWaiting, waitFor } from '../../../tools/testenv/wait.js';
import { relayTo, socketDir } from '../csi-controller/support.js';
import { uniqueNodeName } from '../ldm-node/support.js';
import { controlPlane } from '../setup.js';

type Answer = [number, string];

async function get(port: number, path: string): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return [res.status, await res.text()];
}

/** Runs `args` of a Loam binary, collecting its log; `stop` sends SIGTERM and expects exit 0. */
function run(args: string[]): { child: ResultPromise; log: () => string; stop: () => Promise<void> } {
  const child = execa('node', ['--import', 'tsx', ...args], { reject: false, all: true });
  let log = '';
  child.all?.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-50_000); });
  return {
    child,
    log: () => log,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const result = await child;
      assert.equal(result.exitCode, 0, `exit code after SIGTERM: ${log.slice(-2000)}`);
    },
  };
}

describe('health endpoints of loam-node and loam-controller', function () {
  this.timeout(150_000);
  let dir = '';
  let kubeconfig = '';
  let relay: ReturnType<typeof relayTo>;

  before(async () => {
    const cp = controlPlane();
    const port = await freePort();
    relay = relayTo(cp.apiPort, port);
    dir = (await socketDir()).dir;
    kubeconfig = join(dir, 'kubeconfig');
    // The serving certificate names 127.0.0.1, so TLS holds through the relay's port.
    await cp.writeKubeconfig(kubeconfig, `https://127.0.0.1:${port}`);
  });

  after(async () => {
    await relay?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('alive while the API server cannot be reached, ready once it answers and the caches are filled', async () => {
    const nodePort = await freePort();
    const controllerPort = await freePort();
    const node = run(['src/cmd/loam-node.ts', '--node-name', uniqueNodeName('health'), '--kubeconfig', kubeconfig, '--local-storage', 'false',
      '--csi-endpoint', `unix://${join(dir, 'node.sock')}`, '--health-listen', `127.0.0.1:${nodePort}`]);
    const controller = run(['src/cmd/loam-controller.ts', '--kubeconfig', kubeconfig, '--leader-elect', 'false',
      '--csi-endpoint', `unix://${join(dir, 'controller.sock')}`, '--health-listen', `127.0.0.1:${controllerPort}`]);
    try {
      for (const [name, p, port] of [['loam-node', node, nodePort], ['loam-controller', controller, controllerPort]] as const) {
        await waitFor(`${name} /healthz`, async () => {
          if (p.child.exitCode !== null) throw new StopWaiting(`${name} exited ${p.child.exitCode}: ${p.log().slice(-3000)}`);
          return (await get(port, '/healthz').catch(() => [0, ''] as Answer))[0] === 200;
        }, 30_000, 100);
      }
      assert.deepEqual(await get(nodePort, '/healthz'), [200, 'ok'], 'loam-node: the CSI socket answers Probe');
      assert.deepEqual(await get(nodePort, '/readyz'), [503, 'agents: the agents have not started: waiting for the API server and for their caches to fill']);
      assert.deepEqual(await get(controllerPort, '/healthz'), [200, 'ok'], 'loam-controller: the CSI socket answers Probe');
      assert.deepEqual(await get(controllerPort, '/readyz'), [503, 'api: waiting for the API server']);

      await relay.open();
      await waitFor('loam-node /readyz', async () => (await get(nodePort, '/readyz'))[0] === 200, 60_000, 200);
      await waitFor('loam-controller /readyz', async () => (await get(controllerPort, '/readyz'))[0] === 200, 60_000, 200);
      assert.deepEqual(await get(nodePort, '/readyz'), [200, 'ok']);
      assert.deepEqual(await get(controllerPort, '/readyz'), [200, 'ok']);
      assert.equal((await get(nodePort, '/metrics'))[0], 404);
    } finally {
      await Promise.all([node.stop(), controller.stop()]);
    }
  });

  it('--help prints each binary\'s usage, flags included, and exits 0', async () => {
    const expected = [['loam-node', ['--registration-dir', '--kubelet-registration-path', '--health-listen']], ['loam-controller', ['--health-listen']],
      ['loam-scheduler', ['--webhook-self-signed', '--webhook-service', '--webhook-configuration-name', '--webhook-cert-validity-hours', '--health-listen']]] as const;
    await Promise.all(expected.map(async ([bin, flags]) => {
      const r = await execa('node', ['--import', 'tsx', `src/cmd/${bin}.ts`, '--help']);
      assert.match(r.stdout, new RegExp(`^${bin}: `));
      for (const flag of flags) assert.ok(r.stdout.includes(flag), `${bin} --help names ${flag}`);
    }));
  });

  it('a CSI socket that takes calls but never answers fails the liveness check within its deadline', async () => {
    const sockets = await mkdtemp(join(tmpdir(), 'loam-wedged-'));
    const socket = join(sockets, 'csi.sock');
    const server = new grpc.Server();
    // A wedged server: the call is taken and never answered.
    server.addService(csiGrpcObject().csi.v1.Identity.service, { Probe: () => undefined, GetPluginInfo: () => undefined, GetPluginCapabilities: () => undefined });
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    const probe = new IdentityProbe(`unix://${socket}`);
    try {
      const started = Date.now();
      assert.match(await probe.answers(500) ?? '', /^CSI Probe on the plugin's socket failed: Deadline exceeded/);
      assert.ok(Date.now() - started < 2_000, 'failed within the deadline');
    } finally {
      probe.close();
      server.forceShutdown();
      await rm(sockets, { recursive: true, force: true });
    }
  });
});
