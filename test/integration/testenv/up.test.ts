import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { controlPlane } from '../setup.js';
import { processesMentioning } from '../../../tools/testenv/leftovers.js';

describe('npm run testenv:up', () => {
  it('prints KUBECONFIG, serves the API, and on SIGTERM stops everything and removes its files', async function () {
    this.timeout(120_000);
    const child = spawn(process.execPath, ['--import', 'tsx', 'tools/testenv/up.ts'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, LOAM_TESTENV_BIN: controlPlane().binDir },
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const kubeconfig = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => line.startsWith('KUBECONFIG=') && resolve(line.slice('KUBECONFIG='.length)));
      void exited.then((code) => reject(new Error(`testenv:up exited early with ${code}`)));
    });
    const dir = path.dirname(kubeconfig);
    const r = await execa(path.join(controlPlane().binDir, 'kubectl'), ['--kubeconfig', kubeconfig, 'get', '--raw', '/readyz']);
    assert.equal(r.stdout.trim(), 'ok');
    assert.ok((await processesMentioning(dir)).length >= 2, 'etcd and kube-apiserver run from the temp folder');

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.deepEqual(await processesMentioning(dir), []);
    await assert.rejects(access(dir), 'the temp folder is removed');
  });
});
