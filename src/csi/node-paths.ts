/**
 * Where the node service may act: the staging and target paths a CO hands it must lie inside the
 * kubelet directory (`--kubelet-dir`, default /var/lib/kubelet), where kubelet makes them. The
 * service mounts on, and removes, what these paths name as root, so a path outside (or a `..`, or a
 * symbolic link leading out) would let any caller of the socket mount over, or unlink, any file of
 * the node. Rules, in order: absolute, no NUL, at most 4096 bytes, no `..` segment, strictly inside
 * the kubelet directory; then on disk: every existing directory on the way resolved through its
 * symlinks must still be inside the kubelet directory's real path, and the last component must not
 * itself be a symlink (kubelet never makes one there). The caller acts on the resolved path, which
 * is also how mountinfo spells mount points.
 */
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { invalidArgument } from './errors.js';

export const defaultKubeletDir = '/var/lib/kubelet';
const pathMax = 4096;

/** What is wrong with `value` as a path under `kubeletDir`, judged by its spelling only; undefined when nothing. */
export function lexicalPathProblem(value: string, kubeletDir: string): string | undefined {
  if (value.includes('\0')) return 'must not contain a NUL byte';
  if (Buffer.byteLength(value) > pathMax) return `is longer than ${pathMax} bytes`;
  if (!value.startsWith('/')) return 'must be an absolute path';
  if (value.split('/').includes('..')) return 'must not contain ".."';
  const normalized = trimTrailing(path.posix.normalize(value));
  if (!isInside(normalized, trimTrailing(path.posix.normalize(kubeletDir)))) return `must be inside the kubelet directory ${trimTrailing(kubeletDir)}`;
  return undefined;
}

/**
 * The real path to act on for `value`, or INVALID_ARGUMENT saying which rule it breaks. Paths that
 * do not exist yet (a target kubelet has not made) are checked through their deepest existing parent.
 */
export async function confinedPath(rpc: string, field: string, value: string, kubeletDir: string): Promise<string> {
  const refuse = (why: string): Error => invalidArgument(`${rpc}: ${field} ${JSON.stringify(value.length > 300 ? `${value.slice(0, 300)}…` : value)} ${why}`);
  const problem = lexicalPathProblem(value, kubeletDir);
  if (problem) throw refuse(problem);
  const normalized = trimTrailing(path.posix.normalize(value));
  const realKubelet = await resolveExisting(trimTrailing(path.posix.normalize(kubeletDir)));
  const last = await lstatOrUndefined(normalized);
  if (last?.isSymbolicLink()) throw refuse('is a symbolic link; Loam does not follow a link at a volume path');
  const resolved = path.posix.join(await resolveExisting(path.posix.dirname(normalized)), path.posix.basename(normalized));
  if (!isInside(resolved, realKubelet)) throw refuse(`leads outside the kubelet directory ${realKubelet} through a symbolic link (to ${resolved})`);
  return resolved;
}

/** `dir` with its deepest existing ancestor replaced by that ancestor's real path. */
async function resolveExisting(dir: string): Promise<string> {
  const rest: string[] = [];
  for (let current = dir; ; current = path.posix.dirname(current)) {
    try {
      return path.posix.join(await realpath(current), ...rest.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || current === '/') throw err;
      rest.push(path.posix.basename(current));
    }
  }
}

async function lstatOrUndefined(p: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  try {
    return await lstat(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

function isInside(p: string, dir: string): boolean {
  return dir === '/' ? p !== '/' : p.startsWith(`${dir}/`);
}

function trimTrailing(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}
