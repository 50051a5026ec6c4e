/**
 * tools/testenv/images.ts: every archive is an OCI image layout a container runtime imports under the
 * name the chart and containerd ask for (io.containerd.image.name), with one uncompressed layer;
 * umoci, an independent reader that checks every digest, unpacks it; and what it unpacks runs: the
 * pause process holds until SIGTERM, busybox's shell answers, the Go binaries print their version.
 */
import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { busyboxImage, ensureTestImages, pauseImage, pinnedImageNames, type TestImage } from '../../../tools/testenv/images.js';

interface Descriptor { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }
interface Manifest { config: Descriptor; layers: Descriptor[] }
interface ImageConfig { config: { Entrypoint?: string[]; Cmd: string[]; Env: string[] } }

describe('testenv images (OCI archives for the VM cluster)', function () {
  this.timeout(10 * 60_000);
  let images: TestImage[];
  let work: string;

  before(async () => {
    const started = Date.now();
    images = await ensureTestImages();
    console.log(`  ${images.length} archives ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    work = await mkdtemp(path.join(tmpdir(), 'loam-testenv-images-'));
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Unpacks `image` with umoci; returns its root filesystem and config. */
  async function unpack(image: TestImage): Promise<{ rootfs: string; config: ImageConfig; manifest: Manifest }> {
    const dir = path.join(work, image.name.replace(/[^A-Za-z0-9]+/g, '_'));
    const layout = path.join(dir, 'layout');
    await mkdir(layout, { recursive: true });
    await execa('tar', ['-xf', image.archive, '-C', layout]);
    const blob = (digest: string): string => path.join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
    assert.deepEqual(JSON.parse(await readFile(path.join(layout, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    assert.equal(index.manifests.length, 1);
    const annotations = index.manifests[0]!.annotations ?? {};
    assert.equal(annotations['io.containerd.image.name'], image.name);
    const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as Manifest;
    assert.deepEqual(manifest.layers.map((l) => l.mediaType), ['application/vnd.oci.image.layer.v1.tar']);
    const config = JSON.parse(await readFile(blob(manifest.config.digest), 'utf8')) as ImageConfig;
    const bundle = path.join(dir, 'bundle');
    const unpacked = await execa('umoci', ['unpack', '--image', `${layout}:${annotations['org.opencontainers.image.ref.name']}`, bundle], { reject: false, all: true });
    assert.equal(unpacked.exitCode, 0, `umoci unpack ${image.name}: ${unpacked.all}`);
    return { rootfs: path.join(bundle, 'rootfs'), config, manifest };
  }

  const byName = (name: string): TestImage => {
    const image = images.find((i) => i.name === name);
    assert.ok(image, `no archive for ${name} among ${images.map((i) => i.name).join(', ')}`);
    return image;
  };

  it('names the pause, sidecar, scheduler and busybox images at the pinned versions', async () => {
    const pinned = await pinnedImageNames();
    assert.deepEqual(images.map((i) => i.name).sort(), [pauseImage, pinned.csiProvisioner, pinned.csiResizer, pinned.kubeScheduler, busyboxImage].sort());
    assert.match(pinned.kubeScheduler, /^registry\.k8s\.io\/kube-scheduler:v1\.\d+\.\d+$/);
    assert.match(pinned.csiProvisioner, /^registry\.k8s\.io\/sig-storage\/csi-provisioner:v\d+\.\d+\.\d+$/);
  });

  it('pause: unpacks, and its /pause holds until SIGTERM', async () => {
    const { rootfs, config } = await unpack(byName(pauseImage));
    assert.deepEqual(config.config.Entrypoint, ['/pause']);
    const pause = execa(path.join(rootfs, 'pause'), { reject: false });
    const early = await Promise.race([pause.then(() => 'exited'), new Promise((resolve) => setTimeout(() => resolve('running'), 500))]);
    assert.equal(early, 'running');
    pause.kill('SIGTERM');
    assert.equal((await pause).exitCode, 128 + 15);
  });

  it('busybox: unpacks, and its shell runs in the image root', async () => {
    const { rootfs, config } = await unpack(byName(busyboxImage));
    assert.deepEqual(config.config.Cmd, ['sh']);
    const r = await execa('/usr/sbin/chroot', [rootfs, '/bin/sh', '-c', 'echo "$(id -un) $(ls -d /tmp)"; test -k /tmp'], { env: { PATH: '/bin' }, extendEnv: false, reject: false, all: true });
    assert.equal(r.exitCode, 0, r.all);
    assert.equal(r.stdout, 'root /tmp');
  });

  it('csi-provisioner, csi-resizer and kube-scheduler: unpack, and the binary runs from the image', async () => {
    const pinned = await pinnedImageNames();
    const cases = [
      { name: pinned.csiProvisioner, binary: 'csi-provisioner', entrypoint: ['/csi-provisioner'] },
      { name: pinned.csiResizer, binary: 'csi-resizer', entrypoint: ['/csi-resizer'] },
      { name: pinned.kubeScheduler, binary: 'usr/local/bin/kube-scheduler', entrypoint: undefined },
    ];
    for (const c of cases) {
      const { rootfs, config } = await unpack(byName(c.name));
      assert.deepEqual(config.config.Entrypoint, c.entrypoint, c.name);
      await access(path.join(rootfs, c.binary));
      // Static binaries: they run under chroot with nothing else in the root.
      const r = await execa('/usr/sbin/chroot', [rootfs, `/${c.binary}`, '--version'], { env: { PATH: '/usr/local/bin' }, extendEnv: false, reject: false, all: true });
      // (Only exit 0 and a version line: build.sh does not stamp versions into the control plane's binaries.)
      assert.equal(r.exitCode, 0, `${c.name}: ${r.all}`);
      assert.match(r.all, /^(\/csi-(provisioner|resizer)|Kubernetes) \S+$/m, `${c.name} --version says: ${r.all}`);
    }
  });

  it('is cached by content: a second call returns the same archives at once', async () => {
    const started = Date.now();
    const again = await ensureTestImages();
    assert.deepEqual(again, images);
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  });
});
