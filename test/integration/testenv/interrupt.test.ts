import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { controlPlane } from '../setup.js';
import { processesMentioning } from '../../../tools/testenv/leftovers.js';
import { portInUse } from '../../../tools/testenv/ports.js';

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  describe(`an integration run interrupted by ${signal}`, () => {
    it('stops its control plane, frees its port and removes its files', async function () {
      this.timeout(120_000);
      // The runner as `npm run test:integration` starts it: mocha in-process, tsx loaded by --require.
      const child = spawn(process.execPath, ['node_modules/mocha/bin/mocha.js', '--require', 'tsx/esm', '--require', 'test/integration/setup.ts', 'test/integration/testenv/fixtures/hang.spec.ts'], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, LOAM_TESTENV_BIN: controlPlane().binDir },
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      let url = '';
      let dir = '';
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const m = /control plane up in .* at (\S+) in (\S+)/.exec(line);
          if (m) [url, dir] = [m[1]!, m[2]!];
          if (line.includes('HANGING')) resolve();
        });
        void exited.then(() => reject(new Error('the run ended before its test started')));
      });
      assert.ok((await processesMentioning(dir)).length >= 2, 'etcd and kube-apiserver of the inner run are up');

      child.kill(signal);
      await exited;
      assert.deepEqual(await processesMentioning(dir), []);
      assert.equal(await portInUse(Number(new URL(url).port)), false);
      await assert.rejects(access(dir));
    });
  });
}
