/**
 * The container images of the VM cluster's nodes, without a registry and without an import at every
 * boot: OCI archives are imported once, by containerd in a builder VM, into an ext4 disk holding
 * containerd's whole state (content store, unpacked snapshots, metadata). That disk is cached, keyed
 * by the archives' digests and the containerd build, and every node boots on a copy-on-write overlay
 * of it (`DiskSpec.backingFile`). Importing under TCG costs seconds for small images and about
 * 90 s for a 280 MB one, so it is paid once per change of an archive, not per node and boot.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, copyFile, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { componentLogger } from '../../../src/common/logger.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { shellQuote } from './agent.js';
import { guestDir, repoRoot } from './initramfs.js';
import { e2eCacheDir, ensureKernel } from './kernel.js';
import { Vm } from './vm.js';

const log = componentLogger('e2e');

/** The state disk's size as the guest sees it; sparse, so only what containerd writes takes room. */
const stateDiskBytes = 8 * 1024 ** 3;
/** Image disks kept in the cache (the newest); older ones go when a new one is made. */
const keptDisks = 2;
/**
 * Bumped when kube-node.sh changes what containerd finds on the state disk (its layout, the
 * snapshotter): the rest of that script does not touch the cached disk, so it is not in the key.
 */
const diskLayout = 1;
/** The serial of the state disk in every node and in the builder. */
export const stateDiskId = 'state0';
/** The guest script that prepares a node (and the builder's containerd). */
export const kubeNodeScript = path.join(guestDir, 'kube-node.sh');

export interface ImageArchive {
  /** The OCI archive (a tar of an OCI layout). */
  file: string;
  /** The image name its index gives containerd (`io.containerd.image.name`), e.g. loam.io/loam:0.1.0. */
  name: string;
}

export interface ImageDisk {
  /** The disk (raw, or a qcow2 layer over another), used read-only as the backing file of each node's state disk. */
  file: string;
  /** Every image on it, a base's included. */
  images: ImageArchive[];
}

/** The name containerd gives the image of an OCI archive, read from its index.json. */
export async function archiveImageName(file: string): Promise<string> {
  const r = await execa('tar', ['-xOf', file, 'index.json']);
  const index = JSON.parse(r.stdout) as { manifests?: Array<{ annotations?: Record<string, string> }> };
  const name = index.manifests?.map((m) => m.annotations?.['io.containerd.image.name']).find(Boolean);
  if (!name) throw new Error(`${file}: its index.json names no image (annotation io.containerd.image.name)`);
  return name;
}

async function fileDigest(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

/**
 * Loam's own image (`npm run image`, tools/image/build.sh: seconds when nothing changed, about a
 * minute after a source change), so tests can install the chart unmodified.
 */
export async function ensureLoamImage(): Promise<ImageArchive> {
  const r = await execa('bash', [path.join(repoRoot, 'tools', 'image', 'build.sh')], { reject: false, all: true });
  if (r.exitCode !== 0) throw new Error(`npm run image failed (exit ${r.exitCode}):\n${String(r.all).slice(-3000)}`);
  const file = String(r.stdout).trim().split('\n').pop() ?? '';
  return { file, name: await archiveImageName(file) };
}

/**
 * The cached image disk holding `images` (imported into containerd's `k8s.io` namespace), made with
 * the containerd of `nodeBin` on first use. With `base`, the disk is a qcow2 layer over that disk
 * holding `images` besides the base's: an image that changes often (Loam's own, at every source
 * change) then costs only its own import. The key covers the base, every archive's content, the
 * containerd binary and the disk's layout.
 */
export async function ensureImageDisk(images: ImageArchive[], nodeBin: string, pauseImage: string, base?: ImageDisk): Promise<ImageDisk> {
  const key = createHash('sha256').update(`layout ${diskLayout}\nbase ${base?.file ?? ''}\n`);
  const inputs = [...images.map((i) => i.file).sort(), path.join(nodeBin, 'containerd')];
  for (const file of inputs) key.update(`${path.basename(file)} ${await fileDigest(file)}\n`);
  const kind = base ? 'kube-layer' : 'kube-images';
  const folder = path.join(e2eCacheDir(), `${kind}-${key.digest('hex').slice(0, 16)}`);
  const diskName = base ? 'state.qcow2' : 'state.raw';
  const disk: ImageDisk = { file: path.join(folder, diskName), images: [...(base?.images ?? []), ...images] };
  if (await exists(path.join(folder, 'complete'))) return disk;

  const started = Date.now();
  await mkdir(e2eCacheDir(), { recursive: true });
  // Built next to the final folder and renamed at the end: an interrupted build leaves no half disk.
  const work = await mkdtemp(path.join(e2eCacheDir(), `.${kind}-`));
  try {
    await importInBuilder(path.join(work, diskName), images, disk.images, nodeBin, pauseImage, base);
    await writeFile(path.join(work, 'images.json'), JSON.stringify(disk.images.map((i) => ({ name: i.name, archive: i.file })), null, 2));
    await writeFile(path.join(work, 'complete'), '');
    if (!(await exists(path.join(folder, 'complete')))) {
      await rm(folder, { recursive: true, force: true });
      await rename(work, folder);
    }
    log.info('image disk cached', { folder, images: images.map((i) => i.name), ms: Date.now() - started });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  await pruneImageDisks(kind, folder);
  return disk;
}

/**
 * Boots a builder VM with a blank state disk (or an overlay of `base`), imports each archive of
 * `images` with `ctr`, checks that containerd lists every image of `expected`, stops containerd
 * cleanly, unmounts, powers the guest off (QEMU writes out what it holds) and copies the disk out of
 * the VM's run folder to `out`.
 */
async function importInBuilder(out: string, images: ImageArchive[], expected: ImageArchive[], nodeBin: string, pauseImage: string, base?: ImageDisk): Promise<void> {
  // The guest hides the host's /tmp: archives there are copied where it can read them.
  const visible: string[] = [];
  for (const image of images) {
    if (/^\/(tmp|run)\//.test(image.file)) {
      const copy = path.join(path.dirname(out), `${visible.length}-${path.basename(image.file)}`);
      await copyFile(image.file, copy);
      visible.push(copy);
    } else {
      visible.push(image.file);
    }
  }
  const stateDisk = base ? { id: stateDiskId, sizeBytes: 0, backingFile: base.file } : { id: stateDiskId, sizeBytes: stateDiskBytes };
  const vm = await Vm.start({ name: 'kube-images', disks: [stateDisk], memoryMiB: 1024 });
  try {
    const dev = await vm.deviceWithSerial(stateDiskId);
    if (!dev) throw new Error('the image builder does not show its state disk');
    await vm.runOk(`bash ${shellQuote(kubeNodeScript)}`, {
      env: { MODE: 'images', NODE_BIN: nodeBin, MODROOT: (await ensureKernel()).moduleRoot, STATE_DEV: `/dev/${dev}`, STATE_MKFS: base ? '0' : '1', PAUSE_IMAGE: pauseImage },
      timeoutMs: 120_000,
    });
    for (const [i, file] of visible.entries()) {
      const importStarted = Date.now();
      await vm.runOk(`PATH=${shellQuote(nodeBin)}:$PATH ctr -n k8s.io images import ${shellQuote(file)}`, { timeoutMs: 600_000 });
      log.info('image imported in the builder', { image: images[i]!.name, ms: Date.now() - importStarted, bytes: (await stat(file)).size });
    }
    const listed = (await vm.runOk(`${shellQuote(path.join(nodeBin, 'ctr'))} -n k8s.io images ls -q`)).split('\n');
    const missing = expected.filter((i) => !listed.includes(i.name));
    if (missing.length > 0) throw new Error(`containerd lists no ${missing.map((i) => i.name).join(', ')} after the import (it has: ${listed.join(' ')})`);
    // containerd's metadata is a bolt database: stop it cleanly and unmount before the power-off.
    await vm.runOk('pid=$(cat /run/loam-containerd.pid); kill "$pid"; while kill -0 "$pid" 2>/dev/null && [ "$(cut -d" " -f3 /proc/$pid/stat)" != Z ]; do sleep 0.2; done; umount /var/lib/containerd /var/lib/kubelet /var/lib/loam-node && sync', { timeoutMs: 60_000 });
    await vm.startBackground('sleep 0.5; echo o > /proc/sysrq-trigger', '/dev/null');
    await waitFor('the image builder to power off', () => !vm.running, 60_000, 200);
    // Sparse: only the blocks written take room (a layer is a qcow2 file, small by itself).
    await execa('cp', ['--sparse=always', path.join(vm.dir, `${stateDiskId}.img`), out]);
  } catch (err) {
    throw new Error(`building the nodes' image disk failed: ${(err as Error).message}\n--- builder console\n${await vm.consoleTail(30)}`, { cause: err });
  } finally {
    await vm.stop();
  }
}

/** Removes all but the newest `keptDisks` image disks of a kind (never `current`). */
async function pruneImageDisks(kind: string, current: string): Promise<void> {
  const root = e2eCacheDir();
  const disks = [];
  for (const entry of await readdir(root)) {
    if (!entry.startsWith(`${kind}-`)) continue;
    const folder = path.join(root, entry);
    const done = await stat(path.join(folder, 'complete')).catch(() => undefined);
    if (done) disks.push({ folder, mtimeMs: done.mtimeMs });
  }
  disks.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { folder } of disks.slice(keptDisks)) if (folder !== current) await rm(folder, { recursive: true, force: true });
}
