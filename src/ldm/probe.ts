/**
 * The safety probe: reads what a disk holds without ever writing to it. `blkid -p` (low-level
 * probing, opened read-only) finds partition tables and signatures where udev says nothing;
 * sysfs gives partitions and holders; /proc/self/mountinfo and /proc/swaps say what is in use.
 * While it probes it holds the device open with O_EXCL: the kernel answers EBUSY when anything
 * has it mounted or claimed (a filesystem, device-mapper, MD, another exclusive opener), also what
 * the tables do not show (a mount in another mount namespace), and nothing can claim it meanwhile.
 * A probe that fails in part keeps what it found: the verdict names that first (safety.ts).
 */
import { constants } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { execa } from 'execa';
import { readHolders, readPartitionNumbers, readPartitions } from './sysfs.js';
import type { BlockDevice } from './udev-types.js';

/** Everything the safety check needs to know about one disk. */
export interface SafetyFacts {
  partitionTable?: string;
  partitions: string[];
  /** Signature type: ext4, xfs, LVM2_member, linux_raid_member, crypto_LUKS, swap, ... */
  signature?: string;
  holders: string[];
  /** Mount points of the disk or its partitions. */
  mounts: string[];
  activeSwap: boolean;
  /** Set when the kernel refused exclusive access (EBUSY): something has the disk mounted or claimed. */
  busy?: boolean;
  /** Set when the probe itself failed: the disk is then treated as unsafe. */
  probeError?: string;
}

export interface MountEntry {
  /** `major:minor` of the mounted device. */
  dev: string;
  mountPoint: string;
  source: string;
}

/** `KEY=value` lines of `blkid -o export`. */
export function parseBlkidExport(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

/** Undoes mountinfo's octal escapes (`\040` is a space). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Entries of /proc/self/mountinfo: `id parent major:minor root mountpoint options ... - fstype source superopts`. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (fields.length < 5 || sep < 0) continue;
    out.push({ dev: fields[2]!, mountPoint: unescapeMount(fields[4]!), source: unescapeMount(fields[sep + 2] ?? '') });
  }
  return out;
}

/** Device paths of /proc/swaps (header line skipped). */
export function parseSwaps(text: string): string[] {
  return text.split('\n').slice(1).map((l) => unescapeMount(l.split(/\s+/)[0] ?? '')).filter((f) => f !== '');
}

/** Opens `devnode` with `flags` and reads its first 4 KiB; the handle stays open (closed on failure). */
async function openAndRead(devnode: string, flags: number): Promise<FileHandle> {
  const fh = await open(devnode, flags);
  try {
    await fh.read(Buffer.alloc(4096), 0, 4096, 0);
    return fh;
  } catch (err) {
    await fh.close();
    throw err;
  }
}

function cannotRead(devnode: string, err: unknown): Error {
  return new Error(`cannot read ${devnode}: ${(err as Error).message}`, { cause: err });
}

/**
 * Opens the device read-only and reads its first 4 KiB. blkid answers "nothing found" (exit 2) also
 * for a device it cannot open or read, so without this check an unreadable disk would look empty.
 */
export async function assertReadable(devnode: string): Promise<void> {
  try {
    await (await openAndRead(devnode, constants.O_RDONLY)).close();
  } catch (err) {
    throw cannotRead(devnode, err);
  }
}

/** An open device (its first 4 KiB read), and whether the kernel granted exclusive access. */
export interface OpenedDevice {
  close(): Promise<void>;
  /** True when the O_EXCL open met EBUSY and the device was opened shared instead. */
  busy: boolean;
}

/**
 * Like assertReadable, but with O_EXCL (for a block device the kernel answers EBUSY while anything
 * has it mounted or claimed) and the device kept open until `close()`; on EBUSY it is opened
 * shared, so what it holds can still be read, and `busy` says so.
 */
export async function openForProbe(devnode: string): Promise<OpenedDevice> {
  try {
    let busy = false;
    const fh = await openAndRead(devnode, constants.O_RDONLY | constants.O_EXCL).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EBUSY') throw err;
      busy = true;
      return openAndRead(devnode, constants.O_RDONLY);
    });
    return { busy, close: () => fh.close() };
  } catch (err) {
    throw cannotRead(devnode, err);
  }
}

/** The signatures of a device by `blkid -p -o export`; empty when there are none (exit code 2). */
export async function blkidProbe(devnode: string, timeoutMs = 10_000): Promise<Record<string, string>> {
  const result = await execa('blkid', ['-p', '-o', 'export', devnode], { reject: false, timeout: timeoutMs, env: { LC_ALL: 'C' } });
  if (result.exitCode === 0) return parseBlkidExport(result.stdout);
  if (result.exitCode === 2) return {};
  throw new Error(`blkid -p ${devnode} failed (exit ${result.exitCode ?? 'none'}): ${result.stderr.trim() || result.shortMessage}`, { cause: result });
}

/** The system-wide tables the probe compares each disk with, read once per probe round. */
export interface SystemTables {
  mounts: MountEntry[];
  swaps: string[];
}

export async function readSystemTables(): Promise<SystemTables> {
  const [mountinfo, swaps] = await Promise.all([
    readFile('/proc/self/mountinfo', 'utf8'),
    readFile('/proc/swaps', 'utf8').catch(() => 'Filename\n'),
  ]);
  return { mounts: parseMountinfo(mountinfo), swaps: parseSwaps(swaps) };
}

/**
 * Probes one disk, holding it open with O_EXCL throughout (see the module comment). udev's
 * ID_PART_TABLE_TYPE / ID_FS_TYPE are used when present; blkid fills in where udev said nothing.
 * A device that cannot be read or a failed blkid is reported in `probeError`, never as "empty",
 * and never instead of what was found (mounts, swap, holders, partitions come from other sources).
 */
export async function probeDisk(dev: BlockDevice, tables: SystemTables): Promise<SafetyFacts> {
  const devnode = dev.devnode!;
  const partitions = readPartitions(dev.sysname);
  const holders = readHolders(dev.sysname);
  const numbers = new Set([`${dev.major}:${dev.minor}`, ...readPartitionNumbers(dev.sysname)]);
  const partitionNodes = new Set([devnode, ...partitions.map((p) => `/dev/${p}`)]);
  const mounts = tables.mounts.filter((m) => numbers.has(m.dev)).map((m) => m.mountPoint);
  const activeSwap = tables.swaps.some((s) => partitionNodes.has(s));
  const facts: SafetyFacts = { partitions, holders, mounts, activeSwap };
  let partitionTable = dev.properties.ID_PART_TABLE_TYPE;
  let signature = dev.properties.ID_FS_TYPE;
  let opened: OpenedDevice | undefined;
  try {
    opened = await openForProbe(devnode);
    if (opened.busy) facts.busy = true;
    if (!partitionTable && !signature) {
      const found = await blkidProbe(devnode);
      partitionTable = found.PTTYPE;
      signature = found.TYPE;
    }
  } catch (err) {
    facts.probeError = (err as Error).message;
  } finally {
    await opened?.close();
  }
  if (partitionTable) facts.partitionTable = partitionTable;
  if (signature) facts.signature = signature;
  return facts;
}
