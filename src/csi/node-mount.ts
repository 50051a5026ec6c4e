/**
 * Mounts as the node service sees them: what is mounted where (from /proc/self/mountinfo, parsed by
 * the same code the disk safety probe uses), which device a path or mount belongs to (by device
 * number, so /dev/loam-ssd/pvc-x and /dev/dm-3 are the same), and `mount`/`umount` run with
 * argument arrays.
 */
import { readFile, stat } from 'node:fs/promises';
import { execa } from 'execa';
import { parseMountinfo, type MountEntry } from '../ldm/probe.js';

export type { MountEntry };

const commandEnv = { LC_ALL: 'C' };
const commandTimeoutMs = 120_000;

export async function readMounts(): Promise<MountEntry[]> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** Mounts whose mount point is exactly `path` (several when mounts are stacked). */
export function mountsAt(mounts: readonly MountEntry[], path: string): MountEntry[] {
  const wanted = trimSlash(path);
  return mounts.filter((m) => m.mountPoint === wanted);
}

/** A path without trailing slashes, as mountinfo writes mount points. */
export function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** `major:minor` of a block device node, as mountinfo writes it. */
export async function deviceNumberOf(devicePath: string): Promise<string> {
  const st = await stat(devicePath);
  if (!st.isBlockDevice()) throw new Error(`${devicePath} is not a block device`);
  return `${majorOf(st.rdev)}:${minorOf(st.rdev)}`;
}

// Linux's dev_t encoding (glibc gnu_dev_major/minor).
function majorOf(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | Number((BigInt(rdev) >> 32n) & 0xfffff000n);
}
function minorOf(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
}

/** The stat of a path, or undefined when it does not exist. */
export async function statOrUndefined(path: string): Promise<Awaited<ReturnType<typeof stat>> | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** `mount -t <fs> [-o flags] <device> <target>`. */
export function mountArgs(fsType: string, device: string, target: string, options: readonly string[]): string[] {
  return ['-t', fsType, ...optionArgs(options), device, target];
}

/** `mount --bind [-o flags] <source> <target>`. */
export function bindMountArgs(source: string, target: string, options: readonly string[]): string[] {
  return ['--bind', ...optionArgs(options), source, target];
}

/**
 * A bind mount ignores `ro` (and most flags) on the first call: the kernel applies them only on a
 * remount of the bind (`mount -o remount,bind,ro`).
 */
export function remountBindArgs(target: string, options: readonly string[]): string[] {
  return ['-o', ['remount', 'bind', ...options].join(','), target];
}

function optionArgs(options: readonly string[]): string[] {
  return options.length > 0 ? ['-o', options.join(',')] : [];
}

export async function runMount(args: readonly string[], signal?: AbortSignal): Promise<void> {
  await runTool('mount', args, signal);
}

/** Unmounts `path` until nothing is mounted there any more (stacked mounts included); true when something was unmounted. */
export async function unmountAll(path: string, signal?: AbortSignal): Promise<boolean> {
  let unmounted = false;
  // A bound on the loop: every round removes one mount, and a path never has more than a few.
  for (let round = 0; round < 16; round++) {
    if (mountsAt(await readMounts(), path).length === 0) return unmounted;
    await runTool('umount', [path], signal);
    unmounted = true;
  }
  throw new Error(`${path} is still mounted after 16 unmounts`);
}

async function runTool(tool: string, args: readonly string[], signal?: AbortSignal): Promise<void> {
  const result = await execa(tool, args, { reject: false, env: commandEnv, timeout: commandTimeoutMs, cancelSignal: signal, stdin: 'ignore' });
  if (result.exitCode !== 0) {
    const said = String(result.stderr).trim() || (result.shortMessage ?? 'no output');
    throw new Error(`${tool} ${args.join(' ')} failed: ${said}`, { cause: result });
  }
}
