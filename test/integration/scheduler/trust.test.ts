/**
 * The extender's trust boundary, with the real kube-scheduler: filter calls anyone can make up do
 * not stop real pods from being placed, the extender listens on loopback unless told otherwise, and
 * the webhook serves a rotated certificate without a restart.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { InformerView } from '../../../src/scheduler-plugin/cache-view.js';
import type { Extender } from '../../../src/scheduler-plugin/extender.js';
import { freePort } from '../../../tools/testenv/ports.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { controlPlane } from '../setup.js';
import { ExtenderCluster, type SchedulerFixture } from './cluster.js';

const scheduler = 'loam-scheduler';
const ssd = 'loam-trust-ssd';

describe('loam-scheduler trust boundary: made-up filter calls, listen address, certificate rotation', function () {
  this.timeout(120_000);
  let cluster: ExtenderCluster | undefined;
  let view: InformerView;
  let extender: Extender;
  let port: number;
  let fx: SchedulerFixture;

  before(async () => {
    cluster = await ExtenderCluster.start(ssd);
    ({ view, extender, port, fx } = cluster);
  });

  after(async () => cluster?.stop());

  it('1,000 filter calls with random pod UIDs for a real claim: the table holds one reservation, and the real pod still schedules', async () => {
    await fx.storageNode('trust-1', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 8 }]);
    await fx.storageNode('trust-2', [{ mediaClass: 'SSD', totalGi: 10, freeGi: 8 }]);
    const ns = await fx.namespace('sched-trust');
    await fx.claim(ns, 'data', ssd, '5Gi');
    await waitFor('the claim in the extender cache', () => view.claim(ns, 'data') !== undefined, 10_000);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const fake = (): Promise<number> => new Promise((resolve, reject) => {
      const body = JSON.stringify({
        Pod: { metadata: { name: 'made-up', namespace: ns, uid: randomUUID() }, spec: { containers: [{ name: 'c', image: 'x' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] } },
        NodeNames: ['trust-1', 'trust-2'],
      });
      const req = http.request({ host: '127.0.0.1', port, path: '/scheduler/filter', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
    for (let i = 0; i < 1000; i += 4) {
      const codes = await Promise.all([fake(), fake(), fake(), fake()]);
      assert.deepEqual(codes, [200, 200, 200, 200]);
    }
    agent.destroy();
    await fx.pod(ns, 'app', ['data'], scheduler);
    await waitFor('the real pod\'s claim to get a node', async () => (await fx.selectedNode(ns, 'data')) !== undefined, 30_000);
    assert.ok(['trust-1', 'trust-2'].includes((await fx.selectedNode(ns, 'data'))!));
    assert.ok(extender.reservations.size <= 1, `reservations held: ${extender.reservations.size}`);
    const metrics = await extender.metrics.registry.getSingleMetricAsString('loam_scheduler_reservations');
    assert.match(metrics, /^loam_scheduler_reservations [01]$/m);
  });

  describe('the loam-scheduler binary', () => {
    let child: ChildProcess | undefined;
    let exited: Promise<number | null> | undefined;
    let dir: string | undefined;

    afterEach(async () => {
      child?.kill('SIGTERM');
      await exited;
      child = undefined;
      if (dir) await rm(dir, { recursive: true, force: true });
      dir = undefined;
    });

    function start(args: string[], env: Record<string, string> = {}): { logs: () => string } {
      let logs = '';
      child = spawn(process.execPath, ['--import', 'tsx', 'src/cmd/loam-scheduler.ts', '--kubeconfig', controlPlane().kubeconfigPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
      child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
      const proc = child;
      exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
      return { logs: () => logs };
    }

    it('listens on 127.0.0.1:8099 when no --listen is given', async () => {
      const { logs } = start(['--no-webhook']);
      await waitFor('loam-scheduler /healthz on 127.0.0.1:8099', async () => (await fetch('http://127.0.0.1:8099/healthz').catch(() => undefined))?.status === 200, 30_000);
      const line = logs().split('\n').find((l) => l.includes('"extender listening"'));
      assert.ok(line, `no "extender listening" line in: ${logs()}`);
      const logged = JSON.parse(line) as { address: string; port: number };
      assert.deepEqual([logged.address, logged.port], ['127.0.0.1', 8099]);
    });

    it('the webhook serves a rotated certificate without a restart', async () => {
      const cp = controlPlane();
      const first = await cp.issueServingCertificate('trust-webhook-a', ['IP:127.0.0.1']);
      const second = await cp.issueServingCertificate('trust-webhook-b', ['IP:127.0.0.1']);
      dir = await mkdtemp(path.join(os.tmpdir(), 'loam-webhook-tls-'));
      const certFile = path.join(dir, 'tls.crt');
      const keyFile = path.join(dir, 'tls.key');
      await writeFile(certFile, await readFile(first.certFile));
      await writeFile(keyFile, await readFile(first.keyFile));
      const [listenPort, webhookPort] = [await freePort(), await freePort()];
      start(['--listen', `127.0.0.1:${listenPort}`, '--webhook-listen', `127.0.0.1:${webhookPort}`, '--tls-cert', certFile, '--tls-key', keyFile, '--log-level', 'warn'], { LOAM_TLS_RELOAD_SECONDS: '1' });
      const ca = await cp.caCert();
      const served = (): Promise<string | undefined> => new Promise((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port: webhookPort, ca }, () => {
          const fingerprint = socket.getPeerCertificate().fingerprint256;
          socket.end();
          resolve(fingerprint);
        });
        socket.on('error', () => resolve(undefined));
      });
      const fingerprintOf = async (file: string): Promise<string> => new X509Certificate(await readFile(file)).fingerprint256;
      const [a, b] = [await fingerprintOf(first.certFile), await fingerprintOf(second.certFile)];
      await waitFor('the webhook to serve its first certificate', async () => (await served()) === a, 30_000);
      // A Secret rotation as a kubelet lays it out is atomic per file; the cert lands before the key,
      // so for a moment the files hold a pair that does not match: the old one stays in use meanwhile.
      await writeFile(`${certFile}.new`, await readFile(second.certFile));
      await rename(`${certFile}.new`, certFile);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(await served(), a, 'a half-rotated pair is not used');
      await writeFile(`${keyFile}.new`, await readFile(second.keyFile));
      await rename(`${keyFile}.new`, keyFile);
      await waitFor('the webhook to serve the rotated certificate', async () => (await served()) === b, 15_000);
      assert.equal(child?.exitCode, null, 'the same process, not a restart');
    });
  });
});
