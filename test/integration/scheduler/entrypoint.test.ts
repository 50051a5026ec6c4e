import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { freePort } from '../../../tools/testenv/ports.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { controlPlane } from '../setup.js';

describe('loam-scheduler entry point', function () {
  this.timeout(60_000);

  it('serves /healthz once its caches sync, counts requests in /metrics, rejects bad requests, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cmd/loam-scheduler.ts', '--kubeconfig', controlPlane().kubeconfigPath, '--listen', `127.0.0.1:${port}`, '--no-webhook', '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor('loam-scheduler /healthz', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.status === 200, 30_000);
      const pod = { metadata: { name: 'p', namespace: 'default', uid: 'u' }, spec: { containers: [{ name: 'c', image: 'x' }] } };
      const filter = await fetch(`${base}/scheduler/filter`, { method: 'POST', body: JSON.stringify({ Pod: pod, NodeNames: ['a', 'b'] }) });
      assert.deepEqual((await filter.json() as { NodeNames: string[] }).NodeNames, ['a', 'b'], 'a pod without Loam volumes passes through');
      const bad = await fetch(`${base}/scheduler/filter`, { method: 'POST', body: JSON.stringify({ Pod: pod, Nodes: { items: [] } }) });
      assert.equal(bad.status, 400);
      assert.match((await bad.json() as { Error: string }).Error, /nodeCacheCapable: true/);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /loam_scheduler_extender_request_seconds_count\{verb="filter",outcome="ok"\} 1/);
      assert.match(metrics, /loam_scheduler_extender_request_seconds_count\{verb="filter",outcome="bad_request"\} 1/);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses to start with a clear message when the webhook has no certificate', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cmd/loam-scheduler.ts', '--kubeconfig', controlPlane().kubeconfigPath, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(code, 1);
    assert.match(stderr, /the pod webhook needs --tls-cert and --tls-key \(or turn it off with --no-webhook\)/);
  });
});
