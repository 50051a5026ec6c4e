/**
 * The container images the VM cluster's nodes need, made without a registry (none can be reached
 * here): OCI archives that `ctr -n k8s.io images import` takes, each one uncompressed layer holding
 * static binaries this machine already built or has, named as the chart and containerd ask for them:
 *   - registry.k8s.io/pause:<tag>: the pod sandbox (build-node.sh's static pause);
 *   - registry.k8s.io/sig-storage/csi-provisioner and csi-resizer, registry.k8s.io/kube-scheduler, at
 *     the versions tools/testenv/modules pins (the chart's defaults), from the testenv bin folder;
 *   - loam.io/busybox:test: the host's busybox-static with its applets, for test pods.
 * Layers and archives are written by tools/image (oci.ts, tar.sh), the same writer as Loam's image.
 * Each archive is cached by content under ~/.cache/loam/images/<key>: a second call with the same
 * binaries returns at once.
 *
 * Usage: tsx tools/testenv/images.ts (prints the archive paths, one a line).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, chmod, copyFile, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { writeLayout } from '../image/oci.js';
import { ensureNodeBin, ensureTestenvBin } from './bin.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tarScript = path.join(here, '..', 'image', 'tar.sh');
/** Fixed, not "now": the time stamps are part of the archive's bytes and so of containerd's image id. */
const epoch = 1767225600;
const pathEnv = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The sandbox image containerd's CRI config must pin (the kubelet's default for v1.37). */
export const pauseImage = 'registry.k8s.io/pause:3.10';
/** A small image with a shell and the usual tools, for test pods. */
export const busyboxImage = 'loam.io/busybox:test';

export interface TestImage {
  /** The reference containerd imports it under (io.containerd.image.name). */
  name: string;
  /** The OCI archive (a tar of an OCI image layout). */
  archive: string;
}

interface ImageRecipe {
  name: string;
  /** Files copied into the root: source path on this machine → path in the image. */
  files: { from: string; to: string }[];
  /** Symbolic links in the image: path → target. */
  links?: { at: string; to: string }[];
  entrypoint?: string[];
  cmd: string[];
}

/** The version `module` requires in one of tools/testenv/modules' go.mod files. */
async function pinnedVersion(moduleDir: string, module: string): Promise<string> {
  const goMod = await readFile(path.join(here, 'modules', moduleDir, 'go.mod'), 'utf8');
  const line = goMod.split('\n').map((l) => l.trim().split(/\s+/)).find(([name]) => name === module);
  if (!line?.[1]) throw new Error(`tools/testenv/modules/${moduleDir}/go.mod does not require ${module}`);
  return line[1];
}

/** The sidecar and scheduler references at the versions testenv pins (the chart's value defaults). */
export async function pinnedImageNames(): Promise<{ csiProvisioner: string; csiResizer: string; kubeScheduler: string }> {
  return {
    csiProvisioner: `registry.k8s.io/sig-storage/csi-provisioner:${await pinnedVersion('csi-provisioner', 'github.com/kubernetes-csi/external-provisioner/v6')}`,
    csiResizer: `registry.k8s.io/sig-storage/csi-resizer:${await pinnedVersion('csi-resizer', 'github.com/kubernetes-csi/external-resizer/v2')}`,
    kubeScheduler: `registry.k8s.io/kube-scheduler:${await pinnedVersion('kubernetes', 'k8s.io/kubernetes')}`,
  };
}

async function recipes(): Promise<ImageRecipe[]> {
  const [bin, nodeBin, names] = [await ensureTestenvBin(), await ensureNodeBin(), await pinnedImageNames()];
  const busybox = '/bin/busybox';
  await access(busybox).catch((cause: unknown) => {
    throw new Error(`${busybox} is missing: apt-get install busybox-static (listed in .ci/apt-packages)`, { cause });
  });
  const applets = String((await execa(busybox, ['--list'])).stdout).split('\n').filter((a) => a && a !== 'busybox');
  return [
    { name: pauseImage, files: [{ from: path.join(nodeBin, 'pause'), to: 'pause' }], entrypoint: ['/pause'], cmd: [] },
    // Upstream's sidecar images run their binary as the entry point; the chart passes only arguments.
    { name: names.csiProvisioner, files: [{ from: path.join(bin, 'csi-provisioner'), to: 'csi-provisioner' }], entrypoint: ['/csi-provisioner'], cmd: [] },
    { name: names.csiResizer, files: [{ from: path.join(bin, 'csi-resizer'), to: 'csi-resizer' }], entrypoint: ['/csi-resizer'], cmd: [] },
    // Upstream's kube-scheduler image has no entry point: pods name the command, found on PATH.
    { name: names.kubeScheduler, files: [{ from: path.join(bin, 'kube-scheduler'), to: 'usr/local/bin/kube-scheduler' }], cmd: ['kube-scheduler'] },
    {
      name: busyboxImage,
      files: [{ from: busybox, to: 'bin/busybox' }],
      links: applets.map((applet) => ({ at: `bin/${applet}`, to: 'busybox' })),
      cmd: ['sh'],
    },
  ];
}

async function fileDigest(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** The cache key: everything that decides the archive's bytes. */
async function recipeKey(recipe: ImageRecipe): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ ...recipe, files: recipe.files.map((f) => f.to), epoch }));
  for (const file of recipe.files) hash.update(await fileDigest(file.from));
  for (const source of [fileURLToPath(import.meta.url), path.join(here, '..', 'image', 'oci.ts'), tarScript]) hash.update(await readFile(source));
  return hash.digest('hex').slice(0, 16);
}

/** `deterministic_tar` of tools/image/tar.sh: `dir`'s entries into `out`. */
async function deterministicTar(dir: string, out: string): Promise<void> {
  await execa('bash', ['-c', '. "$1" && deterministic_tar "$2" > "$3"', 'tar', tarScript, dir, out], {
    env: { SOURCE_DATE_EPOCH: String(epoch) },
  });
}

/** The root of the image: its files, links, a world-writable /tmp and the users static binaries may look up. */
async function writeRoot(root: string, recipe: ImageRecipe): Promise<void> {
  for (const dir of ['etc', 'tmp']) await mkdir(path.join(root, dir), { recursive: true });
  await writeFile(path.join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n');
  await writeFile(path.join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  for (const file of recipe.files) {
    await mkdir(path.dirname(path.join(root, file.to)), { recursive: true });
    await copyFile(file.from, path.join(root, file.to));
  }
  for (const link of recipe.links ?? []) await symlink(link.to, path.join(root, link.at));
  // The same modes whatever the umask of the machine that built it.
  await execa('chmod', ['-R', 'u=rwX,go=rX', root]);
  for (const file of recipe.files) await chmod(path.join(root, file.to), 0o755);
  await chmod(path.join(root, 'tmp'), 0o1777);
}

function archiveName(name: string): string {
  return `${name.replace(/[^A-Za-z0-9.]+/g, '_')}.oci.tar`;
}

/** Builds (or finds in the cache) the archive of one recipe. */
async function buildImage(cacheRoot: string, recipe: ImageRecipe): Promise<TestImage> {
  const out = path.join(cacheRoot, await recipeKey(recipe));
  const archive = path.join(out, archiveName(recipe.name));
  const done = await access(path.join(out, 'complete')).then(() => true, () => false);
  if (done) return { name: recipe.name, archive };
  const work = `${out}.partial.${process.pid}`;
  await rm(work, { recursive: true, force: true });
  try {
    await writeRoot(path.join(work, 'root'), recipe);
    const layer = path.join(work, 'layer.tar');
    await deterministicTar(path.join(work, 'root'), layer);
    await writeLayout(path.join(work, 'layout'), {
      name: recipe.name,
      epoch,
      layers: [{ file: layer, gzip: false, createdBy: `tools/testenv/images.ts: ${recipe.files.map((f) => `/${f.to}`).join(' ')}` }],
      ...(recipe.entrypoint ? { entrypoint: recipe.entrypoint } : {}),
      env: [pathEnv],
      cmd: recipe.cmd,
      workingDir: '/',
      labels: { 'org.opencontainers.image.title': recipe.name, 'io.loam.test-image': 'true' },
    });
    await mkdir(path.join(work, 'done'));
    await deterministicTar(path.join(work, 'layout'), path.join(work, 'done', archiveName(recipe.name)));
    await writeFile(path.join(work, 'done', 'complete'), '');
    // Another build of the same key may have finished first; its result is the same.
    await rename(path.join(work, 'done'), out).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { name: recipe.name, archive };
}

/**
 * The OCI archives of every image the VM cluster needs besides Loam's own (`npm run image`), built on
 * first use and cached by content. Builds the testenv and node binaries first when missing.
 */
export async function ensureTestImages(): Promise<TestImage[]> {
  const cacheRoot = path.join(process.env.LOAM_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'loam'), 'images');
  await mkdir(cacheRoot, { recursive: true });
  const images: TestImage[] = [];
  for (const recipe of await recipes()) images.push(await buildImage(cacheRoot, recipe));
  return images;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const image of await ensureTestImages()) process.stdout.write(`${image.archive}\n`);
}
