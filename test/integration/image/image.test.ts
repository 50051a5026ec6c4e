/**
 * `npm run image` (tools/image/build.sh): the OCI archive it prints is a valid image layout, and the
 * root filesystem its layers unpack to runs Loam: Node >= 20.19, the storage tools, the four bins,
 * the udev addon loading under chroot; and carries nothing of a build or test machine (compilers,
 * dev dependencies, the loop-control test addon). The build is cached by content: cold it takes a
 * few minutes (mmdebstrap of trixie, npm ci, tsc), warm a second.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readlink, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { execa } from 'execa';

const repo = path.resolve(import.meta.dirname, '../../..');
const bins = ['loam-node', 'loam-controller', 'loam-scheduler', 'loam'];

interface Descriptor { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }
interface Manifest { schemaVersion: number; mediaType: string; config: Descriptor; layers: Descriptor[] }
interface ImageConfig {
  architecture: string;
  os: string;
  config: { Env: string[]; Cmd: string[]; Labels: Record<string, string> };
  rootfs: { type: string; diff_ids: string[] };
}

async function sha256Of(file: string, gunzip = false): Promise<string> {
  const hash = createHash('sha256');
  const source = createReadStream(file);
  if (gunzip) {
    const inflate = createGunzip();
    inflate.on('data', (chunk: Buffer) => hash.update(chunk));
    await pipeline(source, inflate);
  } else {
    for await (const chunk of source) hash.update(chunk as Buffer);
  }
  return `sha256:${hash.digest('hex')}`;
}

async function findFiles(dir: string, name: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.name === name) found.push(path.join(entry.parentPath, entry.name));
  }
  return found;
}

describe('npm run image', function () {
  let work: string;
  let layout: string;
  let bundle: string;
  let rootfs: string;
  let manifest: Manifest;
  let config: ImageConfig;
  const blob = (digest: string): string => path.join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
  // Outside the chroot's own environment nothing of this machine's may leak in (PATH, NODE_OPTIONS...).
  const inImage = (command: string[]): Promise<{ exitCode?: number; stdout: string; stderr: string }> =>
    execa('chroot', [rootfs, ...command], { env: { PATH: config.config.Env.find((e) => e.startsWith('PATH='))!.slice(5), NODE_ENV: 'production' }, extendEnv: false, reject: false });

  before(async function () {
    this.timeout(20 * 60_000);
    const started = Date.now();
    const build = await execa('bash', [path.join(repo, 'tools/image/build.sh')], { stderr: 'inherit' });
    const archive = build.stdout.trim().split('\n').at(-1)!;
    console.log(`  image ${archive} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    work = await mkdtemp(path.join(tmpdir(), 'loam-image-test-'));
    layout = path.join(work, 'layout');
    bundle = path.join(work, 'bundle');
    rootfs = path.join(bundle, 'rootfs');
    await mkdir(layout);
    await execa('tar', ['-xf', archive, '-C', layout]);
    const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as Manifest;
    config = JSON.parse(await readFile(blob(manifest.config.digest), 'utf8')) as ImageConfig;
    // umoci, an independent reader of OCI layouts, unpacks it: it checks every digest on the way and
    // writes the runtime bundle (config.json) a container engine would run.
    const tag = index.manifests[0]!.annotations?.['org.opencontainers.image.ref.name'];
    await execa('umoci', ['unpack', '--image', `${layout}:${tag}`, bundle]);
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('is an OCI image layout: every blob matches its digest and size, diff ids match the layers, named for ctr import', async () => {
    assert.deepEqual(JSON.parse(await readFile(path.join(layout, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as { schemaVersion: number; manifests: Descriptor[] };
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.manifests.length, 1);
    const top = index.manifests[0]!;
    assert.equal(top.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    const version = (JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')) as { version: string }).version;
    assert.match(top.annotations?.['io.containerd.image.name'] ?? '', new RegExp(`^[a-z0-9.-]+/[a-z0-9/-]+:${version.replaceAll('.', '\\.')}$`));
    assert.equal(top.annotations?.['org.opencontainers.image.ref.name'], version);
    assert.equal(manifest.schemaVersion, 2);
    assert.equal(manifest.config.mediaType, 'application/vnd.oci.image.config.v1+json');
    for (const d of [top, manifest.config, ...manifest.layers]) {
      assert.equal(await sha256Of(blob(d.digest)), d.digest, `blob ${d.digest}`);
      assert.equal((await lstat(blob(d.digest))).size, d.size, `size of ${d.digest}`);
    }
    assert.equal(manifest.layers.length, 2, 'the Debian base and the app');
    assert.equal(config.os, 'linux');
    assert.equal(config.architecture, 'amd64');
    assert.equal(config.rootfs.type, 'layers');
    const diffIds: string[] = [];
    for (const layer of manifest.layers) {
      assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
      diffIds.push(await sha256Of(blob(layer.digest), true));
    }
    assert.deepEqual(config.rootfs.diff_ids, diffIds);
    assert.equal(config.config.Labels['org.opencontainers.image.version'], version);
    assert.equal(config.config.Labels['org.opencontainers.image.licenses'], 'Apache-2.0');
    assert.deepEqual(config.config.Cmd, ['loam', '--help']);
    const runtime = JSON.parse(await readFile(path.join(bundle, 'config.json'), 'utf8')) as { process: { args: string[]; env: string[]; cwd: string } };
    assert.deepEqual(runtime.process.args, ['loam', '--help']);
    assert.ok(runtime.process.env.includes('NODE_ENV=production'));
    assert.equal(runtime.process.cwd, '/app');
  });

  it('runs Node >= 20.19 and holds the storage tools Loam calls', async () => {
    const node = await inImage(['node', '-p', 'process.versions.node']);
    assert.equal(node.exitCode, 0, node.stderr);
    const [major, minor] = node.stdout.trim().split('.').map(Number) as [number, number];
    assert.ok(major > 20 || (major === 20 && minor >= 19), `node ${node.stdout.trim()} in the image`);
    for (const tool of ['lvm', 'lvcreate', 'vgcreate', 'pvcreate', 'thin_check', 'mkfs.ext4', 'resize2fs', 'mkfs.xfs', 'xfs_growfs',
      'blkid', 'mount', 'umount', 'losetup', 'drbdadm', 'drbdsetup', 'smartctl', 'modprobe']) {
      const found = await inImage(['sh', '-c', `command -v ${tool}`]);
      assert.equal(found.exitCode, 0, `${tool} is in the image`);
    }
    const lvm = await inImage(['lvm', 'version']);
    assert.equal(lvm.exitCode, 0, lvm.stderr);
  });

  it('has the four bins on PATH, and each starts: loam --help, the udev addon loads under chroot', async () => {
    for (const bin of bins) {
      const link = path.join(rootfs, 'usr/local/bin', bin);
      assert.equal(await readlink(link), `/app/dist/src/cmd/${bin}.js`);
      assert.ok(((await lstat(path.join(rootfs, 'app/dist/src/cmd', `${bin}.js`))).mode & 0o111) !== 0, `${bin} is executable`);
    }
    const help = await inImage(['loam', '--help']);
    assert.equal(help.exitCode, 0, help.stderr);
    assert.match(help.stderr, /usage: loam/);
    // loam-node's shebang (env -S node --lite-mode ...) and its whole import graph, addon included.
    const addon = await inImage(['node', '--input-type=module', '-e',
      "const m = await import('/app/dist/src/ldm/udev-native.js'); console.log(typeof m.udevAddon().enumerate)"]);
    assert.equal(addon.exitCode, 0, addon.stderr);
    assert.equal(addon.stdout.trim(), 'function');
    for (const bin of ['loam-node', 'loam-controller', 'loam-scheduler']) {
      // ESM loads the binary's whole import graph before its first line runs; then it answers --help
      // (or refuses it as an unknown option) at once: no missing module, no failed dlopen, no bad shebang.
      const started = await inImage(['timeout', '20', bin, '--help']);
      assert.doesNotMatch(started.stderr, /ERR_MODULE_NOT_FOUND|Cannot find module|ERR_DLOPEN_FAILED|bad interpreter|No such file/, `${bin}: ${started.stderr}`);
      assert.ok(started.exitCode === 0 || /--help/.test(started.stderr), `${bin} --help: exit ${started.exitCode}: ${started.stderr}`);
    }
  });

  it('carries no compiler, no dev dependency, no test tool, no loop-control addon', async () => {
    for (const tool of ['gcc', 'cc', 'c++', 'g++', 'make', 'ld', 'python3-config', 'npm', 'npx', 'node-gyp']) {
      assert.equal(existsSync(path.join(rootfs, 'usr/bin', tool)), false, `${tool} is not in the image`);
    }
    const modules = path.join(rootfs, 'app/node_modules');
    for (const dev of ['mocha', 'tsx', 'typescript', 'eslint', 'c8', 'node-gyp', 'typescript-eslint', '@types/mocha', '@eslint/js']) {
      assert.equal(existsSync(path.join(modules, dev)), false, `${dev} is not in node_modules`);
    }
    assert.deepEqual(await findFiles(path.join(rootfs, 'app'), 'loam_loop_control.node'), []);
    assert.deepEqual(await readdir(path.join(rootfs, 'app/native/build/Release')), ['loam_udev.node']);
    assert.equal(existsSync(path.join(rootfs, 'app/src')), false, 'no TypeScript sources');
    assert.equal(existsSync(path.join(rootfs, 'app/test')), false, 'no tests');
  });
});
