#!/usr/bin/env node
// Builds the native addons (native/binding.gyp) with node-gyp against the Node headers already on
// this machine: it never downloads headers. Runs as the package's `install` script, so `npm ci`
// builds it; run it by hand with `node native/build.mjs`. The test-only addon (loam_loop_control) is
// built only for a development install: not when npm omits dev dependencies (`npm ci --omit=dev`,
// `--production`, or NODE_ENV=production), nor with `--production` given to this script.
/* global process, console */
/* eslint-disable no-console -- a build script reports to the terminal */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const nativeDir = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const productionAddons = ['loam_udev'];
const testAddons = ['loam_loop_control'];

/** True when this is a production install: npm omits dev dependencies, or the caller said so. */
function isProductionBuild() {
  if (process.argv.includes('--production')) return true;
  if (process.argv.includes('--development')) return false;
  const omit = (process.env.npm_config_omit ?? '').split(/[\s,]+/);
  return omit.includes('dev') || process.env.npm_config_production === 'true' || process.env.NODE_ENV === 'production';
}

function fail(message) {
  console.error(`native/build.mjs: ${message}`);
  process.exit(1);
}

function hasNodeHeaders(dir) {
  return Boolean(dir) && existsSync(path.join(dir, 'include', 'node', 'node_api.h')) && existsSync(path.join(dir, 'include', 'node', 'common.gypi'));
}

/** npm's `nodedir` setting (from the lifecycle environment, else `npm config get`), or undefined. */
async function configuredNodedir() {
  const fromEnv = process.env.npm_config_nodedir;
  if (fromEnv) return fromEnv;
  try {
    const { stdout } = await execa('npm', ['config', 'get', 'nodedir'], { reject: true, stderr: 'ignore' });
    const value = stdout.trim();
    return value && value !== 'undefined' && value !== 'null' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The folder whose include/node holds the headers of the running Node (e.g. /usr for /usr/bin/node). */
async function findNodedir() {
  const configured = await configuredNodedir();
  if (configured && hasNodeHeaders(configured)) return configured;
  const besideNode = path.resolve(process.execPath, '../..');
  if (hasNodeHeaders(besideNode)) return besideNode;
  const tried = [configured, besideNode].filter(Boolean).map((d) => path.join(d, 'include', 'node')).join(' and ');
  fail(`no Node headers (node_api.h, common.gypi) in ${tried}; install the headers of Node ${process.version} ` +
    `(they come with the nodejs package) or set npm's nodedir to the folder that holds include/node`);
}

/** Fails with a message naming the Debian package when the compiler cannot see libudev.h. */
async function checkLibudevHeader() {
  const cc = process.env.CC ?? 'cc';
  const result = await execa(cc, ['-E', '-x', 'c', '-o', '/dev/null', '-'], { input: '#include <libudev.h>\n', reject: false });
  // No exit code: the compiler did not start at all.
  if (result.exitCode === undefined) fail(`no C compiler (${cc}): install build-essential (${result.shortMessage})`);
  if (result.exitCode !== 0) {
    fail('libudev.h not found: install libudev-dev (Debian/Ubuntu: apt-get install libudev-dev; it is listed in .ci/apt-packages)');
  }
}

function findNodeGyp() {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    // A production install (--omit=dev) has no local node-gyp; npm ships one and names it here.
    const bundled = process.env.npm_config_node_gyp;
    if (bundled && existsSync(bundled)) return bundled;
    fail('node-gyp not found: install the dev dependencies (npm ci) or run this from an npm script');
  }
}

async function main() {
  if (process.platform !== 'linux') {
    console.error(`native/build.mjs: skipped on ${process.platform}; libudev and the udev addon are Linux-only`);
    return;
  }
  const started = Date.now();
  const nodedir = await findNodedir();
  await checkLibudevHeader();
  const nodeGyp = findNodeGyp();
  const production = isProductionBuild();
  const addons = production ? productionAddons : [...productionAddons, ...testAddons];
  console.error(`native/build.mjs: node-gyp rebuild of ${addons.join(', ')} against ${path.join(nodedir, 'include', 'node')} (Node ${process.version}, ${production ? 'production' : 'development'})`);
  const build = await execa(process.execPath, [nodeGyp, 'rebuild', '--release', `--nodedir=${nodedir}`, '--jobs=max', '--loglevel=warn'], {
    cwd: nativeDir,
    // node-gyp also reads npm_config_nodedir from the environment; make it agree with --nodedir.
    // LOAM_TEST_ADDONS switches the test-only targets of binding.gyp on or off.
    env: { npm_config_nodedir: nodedir, LOAM_TEST_ADDONS: production ? '0' : '1' },
    stdout: 'inherit',
    stderr: 'inherit',
    reject: false,
  });
  if (build.exitCode !== 0) fail(`node-gyp rebuild failed (exit code ${build.exitCode}); see the output above`);

  // Loading proves the link (libudev.so.1 found, no missing symbols), not just the compile.
  for (const name of addons) {
    const file = path.join(nativeDir, 'build', 'Release', `${name}.node`);
    try {
      require(file);
    } catch (error) {
      fail(`built ${file} but it does not load: ${error.message}`);
    }
  }
  console.error(`native/build.mjs: built and loaded ${addons.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

await main();
