/**
 * Filesystems on volume devices: what a device holds (`blkid -p`, the disk safety probe's own
 * reader), making one (only ever on a device that holds nothing; no force flag, so mkfs itself
 * refuses too should something appear in between), growing a mounted one, and a device's size.
 */
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { assertReadable, blkidProbe } from '../ldm/probe.js';
import type { FsType } from './validate.js';

const commandEnv = { LC_ALL: 'C' };
// mkfs of a large device and online growth can take a while; still, never hang an RPC forever.
const commandTimeoutMs = 10 * 60_000;

/** What blkid found on a device: a filesystem/signature type, a partition table, or nothing. */
export interface DeviceContents {
  fsType?: string;
  partitionTable?: string;
}

/** Reads the device (so an unreadable one is an error, never "empty") and probes it with `blkid -p`. */
export async function probeDevice(device: string): Promise<DeviceContents> {
  await assertReadable(device);
  const found = await blkidProbe(device);
  const contents: DeviceContents = {};
  if (found.TYPE) contents.fsType = found.TYPE;
  if (found.PTTYPE) contents.partitionTable = found.PTTYPE;
  return contents;
}

/** `mkfs.<fs>` with quiet output; ext4 without reserved root blocks (a volume belongs to its pod). */
export function mkfsCommand(fsType: FsType, device: string): { file: string; args: string[] } {
  if (fsType === 'xfs') return { file: 'mkfs.xfs', args: ['-q', device] };
  return { file: 'mkfs.ext4', args: ['-q', '-m', '0', device] };
}

/**
 * Grows a mounted filesystem to its device: resize2fs takes the device (online growth of a mounted
 * ext4), xfs_growfs the mount point.
 */
export function growCommand(fsType: FsType, device: string, mountPoint: string): { file: string; args: string[] } {
  if (fsType === 'xfs') return { file: 'xfs_growfs', args: [mountPoint] };
  return { file: 'resize2fs', args: [device] };
}

export async function makeFilesystem(fsType: FsType, device: string, signal?: AbortSignal): Promise<void> {
  await run(mkfsCommand(fsType, device), signal);
}

export async function growFilesystem(fsType: FsType, device: string, mountPoint: string, signal?: AbortSignal): Promise<void> {
  try {
    await run(growCommand(fsType, device, mountPoint), signal);
  } catch (err) {
    // The kernel's online-resize ioctl of ext4 wants CAP_SYS_RESOURCE, which some runtimes drop.
    if (fsType === 'ext4' && /Permission denied to resize/.test((err as Error).message)) {
      throw new Error(`${(err as Error).message} (online growth of ext4 needs the CAP_SYS_RESOURCE capability: run loam-node privileged or add it)`, { cause: err });
    }
    throw err;
  }
}

/** Bytes of the block device with number `major:minor`, from sysfs (in 512-byte sectors whatever the block size). */
export async function deviceSizeBytes(deviceNumber: string): Promise<number> {
  const sectors = Number((await readFile(`/sys/dev/block/${deviceNumber}/size`, 'utf8')).trim());
  if (!Number.isFinite(sectors)) throw new Error(`sysfs size of block device ${deviceNumber} is not a number`);
  return sectors * 512;
}

async function run(command: { file: string; args: string[] }, signal?: AbortSignal): Promise<void> {
  const result = await execa(command.file, command.args, { reject: false, env: commandEnv, timeout: commandTimeoutMs, cancelSignal: signal, stdin: 'ignore' });
  if (result.exitCode !== 0) {
    const said = (String(result.stderr).trim() || String(result.stdout).trim() || (result.shortMessage ?? 'no output')).split('\n').slice(-3).join(' ');
    throw new Error(`${command.file} ${command.args.join(' ')} failed: ${said}`, { cause: result });
  }
}
