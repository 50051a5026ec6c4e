/**
 * Debian's kernel for the VM tier: downloaded once with apt, unpacked with dpkg, indexed with depmod,
 * and kept in a cache outside the repo keyed by its version, so a second run starts at once.
 */
import { access, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { componentLogger } from '../../../src/common/logger.js';

const log = componentLogger('e2e');

/**
 * The one place the kernel is pinned: a Debian 12 package and its exact version (the ABI in the
 * name is what `uname -r` shows in the guest). Bookworm's main archive and its security archive
 * both carry this version.
 */
export const pinnedKernel = {
  abi: '6.1.0-50-amd64',
  debianVersion: '6.1.176-1',
} as const;

export interface Kernel {
  /** `uname -r` in the guest, e.g. 6.1.0-50-amd64. */
  release: string;
  /** The bzImage QEMU boots with `-kernel`. */
  vmlinuz: string;
  /** The root for `modprobe -d` / `depmod -b`: modules live under `<root>/lib/modules/<release>`. */
  moduleRoot: string;
  /** The folder of the modules of this release. */
  moduleDir: string;
}

/** Where the tier keeps what it downloads and builds; `LOAM_E2E_CACHE` overrides it. */
export function e2eCacheDir(): string {
  return process.env.LOAM_E2E_CACHE ?? path.join(os.homedir(), '.cache', 'loam', 'e2e');
}

function kernelFrom(root: string): Kernel {
  const release = pinnedKernel.abi;
  return {
    release,
    vmlinuz: path.join(root, 'boot', `vmlinuz-${release}`),
    moduleRoot: root,
    moduleDir: path.join(root, 'lib', 'modules', release),
  };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

let pending: Promise<Kernel> | undefined;

/** The pinned kernel, fetched and unpacked on first use (about 70 MB), then taken from the cache. */
export function ensureKernel(): Promise<Kernel> {
  pending ??= fetchKernel();
  return pending;
}

async function fetchKernel(): Promise<Kernel> {
  const root = path.join(e2eCacheDir(), `kernel-${pinnedKernel.abi}_${pinnedKernel.debianVersion}`);
  const kernel = kernelFrom(root);
  // modules.dep is written last, so its presence means a complete unpack.
  if (await exists(path.join(kernel.moduleDir, 'modules.dep'))) return kernel;

  const started = Date.now();
  await mkdir(e2eCacheDir(), { recursive: true });
  // Unpack next to the final folder and rename at the end: an interrupted run leaves no half cache.
  const work = await mkdtemp(path.join(e2eCacheDir(), '.kernel-'));
  try {
    const pkg = `linux-image-${pinnedKernel.abi}=${pinnedKernel.debianVersion}`;
    await execa('apt-get', ['download', pkg], { cwd: work }).catch((cause: unknown) => {
      throw new Error(`cannot download ${pkg} (is apt's package list up to date?)`, { cause });
    });
    const deb = (await readdir(work)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb in ${work}`);
    const unpacked = path.join(work, 'root');
    await execa('dpkg', ['-x', path.join(work, deb), unpacked]);
    await execa('depmod', ['-b', unpacked, pinnedKernel.abi]);
    await rm(root, { recursive: true, force: true });
    await rename(unpacked, root);
    log.info('kernel cached', { release: kernel.release, root, ms: Date.now() - started });
    return kernel;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
