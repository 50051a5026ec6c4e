/**
 * The first-stage initramfs: static busybox, the modules needed to mount the host's root over 9p
 * with an overlay, and `guest/init.sh`. It is cached next to the kernel, keyed by a hash of all of
 * its inputs, so it is rebuilt only when one of them changes.
 */
import { createHash } from 'node:crypto';
import { access, copyFile, chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { componentLogger } from '../../../src/common/logger.js';
import { e2eCacheDir, type Kernel } from './kernel.js';

const log = componentLogger('e2e');

/** The guest-side scripts; the guest reads them (and the whole checkout) through the shared root. */
export const guestDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../guest');
export const repoRoot = path.resolve(guestDir, '../../..');
const initScript = path.join(guestDir, 'init.sh');
const busyboxBinary = '/bin/busybox';

/** What the first stage needs to reach the shared root; everything else loads from there. */
const firstStageModules = ['virtio_pci', '9pnet_virtio', '9p', 'overlay'];

/**
 * The modules to insmod, dependencies first, resolved from the kernel's `modules.dep` (each line
 * lists a module's full dependency closure).
 */
export async function moduleLoadOrder(kernel: Kernel, wanted: string[]): Promise<string[]> {
  const deps = new Map<string, string[]>();
  const files = new Map<string, string>();
  for (const line of (await readFile(path.join(kernel.moduleDir, 'modules.dep'), 'utf8')).split('\n')) {
    const [mod, rest] = line.split(':');
    if (!mod) continue;
    deps.set(moduleName(mod), (rest ?? '').trim().split(/\s+/).filter(Boolean));
    files.set(moduleName(mod), mod);
  }
  const order: string[] = [];
  const visit = (name: string): void => {
    if (order.includes(name)) return;
    const own = deps.get(name);
    if (!own) throw new Error(`module ${name} is not in ${kernel.release}'s modules.dep`);
    for (const dep of own) visit(moduleName(dep));
    order.push(name);
  };
  for (const name of wanted) visit(name.replaceAll('-', '_'));
  return order.map((name) => files.get(name) ?? name);
}

/** kernel/fs/9p/9p.ko -> 9p; dm-mod and dm_mod are the same module. */
function moduleName(file: string): string {
  return path.basename(file).replace(/\.ko(\.[a-z]+)?$/, '').replaceAll('-', '_');
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

/** Builds (or finds in the cache) the initramfs for `kernel`; returns its path. */
export async function ensureInitramfs(kernel: Kernel): Promise<string> {
  const modules = await moduleLoadOrder(kernel, firstStageModules);
  const hash = createHash('sha256');
  hash.update(kernel.release);
  hash.update(await readFile(initScript));
  hash.update(await readFile(busyboxBinary));
  for (const mod of modules) hash.update(mod);
  const file = path.join(e2eCacheDir(), `initramfs-${kernel.release}-${hash.digest('hex').slice(0, 16)}.cpio`);
  if (await exists(file)) return file;

  const started = Date.now();
  const work = await mkdtemp(path.join(e2eCacheDir(), '.initramfs-'));
  try {
    const tree = path.join(work, 'tree');
    for (const dir of ['bin', 'dev', 'proc', 'sys', 'modules', 'ro', 'rw', 'newroot']) await mkdir(path.join(tree, dir), { recursive: true });
    await copyFile(busyboxBinary, path.join(tree, 'bin', 'busybox'));
    await copyFile(initScript, path.join(tree, 'init'));
    await chmod(path.join(tree, 'init'), 0o755);
    const names: string[] = [];
    for (const mod of modules) {
      const name = path.basename(mod);
      await copyFile(path.join(kernel.moduleDir, mod), path.join(tree, 'modules', name));
      names.push(name);
    }
    await writeFile(path.join(tree, 'modules', 'order'), names.join('\n') + '\n');
    // /dev/console comes from the kernel's built-in initramfs; init.sh mounts devtmpfs over /dev.
    const entries = ['.', 'bin', 'bin/busybox', 'init', 'dev', 'proc', 'sys', 'ro', 'rw', 'newroot', 'modules', 'modules/order', ...names.map((n) => `modules/${n}`)];
    const archive = path.join(work, 'initramfs.cpio');
    await execa('cpio', ['--quiet', '-o', '-H', 'newc', '-R', '0:0', '-O', archive], { cwd: tree, input: entries.join('\n') + '\n' });
    await rename(archive, file);
    log.info('initramfs built', { file, modules: names, ms: Date.now() - started });
    return file;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
