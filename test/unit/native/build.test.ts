/**
 * The test-only addon (loam_loop_control: /dev/loop-control ioctls for tests and benchmarks) is built
 * for development installs only. A production install (`npm ci --omit=dev`) runs native/build.mjs
 * with npm_config_omit=dev; here the script runs the same way on a copy of native/, so the repo's
 * own build is left alone. (A development install building both is what every integration test
 * that makes loop devices relies on.)
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Copies native/ (without its build) beside a link to the repo's node_modules, runs build.mjs with `env`, returns the built addons. */
async function builtAddons(env: Record<string, string>): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'loam-native-'));
  try {
    const native = path.join(repo, 'native');
    await cp(native, path.join(dir, 'native'), { recursive: true, filter: (src) => path.relative(native, src).split(path.sep)[0] !== 'build' });
    await symlink(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
    const run = await execa(process.execPath, [path.join(dir, 'native', 'build.mjs')], { cwd: dir, env: { npm_config_omit: '', npm_config_production: '', NODE_ENV: '', ...env }, reject: false, all: true });
    assert.equal(run.exitCode, 0, run.all);
    return (await readdir(path.join(dir, 'native', 'build', 'Release'))).filter((f) => f.endsWith('.node')).sort();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('native/build.mjs', function () {
  this.timeout(180_000);

  it('a production install (npm ci --omit=dev) builds the udev addon and not the test-only loop-control addon', async () => {
    assert.deepEqual(await builtAddons({ npm_config_omit: 'dev' }), ['loam_udev.node']);
  });
});
