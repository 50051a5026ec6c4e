/**
 * The safety probe: reads what a disk holds without ever writing to it. `blkid -p` (low-level
 * probing, opened read-only) finds partition tables and signatures where udev says nothing;
 * sysfs gives partitions and holders; /proc/self/mountinfo and /proc/swaps say what is in use.
 */
import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
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

/**
 * Opens the device read-only and reads its first 4 KiB. blkid answers "nothing found" (exit 2) also
 * for a device it cannot open or read, so without this check an unreadable disk would look empty.
 */
export async function assertReadable(devnode: string): Promise<void> {
  let fh;
  try {
    fh = await open(devnode, constants.O_RDONLY);
    await fh.read(Buffer.alloc(4096), 0, 4096, 0);
  } catch (err) {
    throw new Error(`cannot read ${devnode}: ${(err as Error).message}`, { cause: err });
  } finally {
    await fh?.close();
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
 * Probes one disk. udev's ID_PART_TABLE_TYPE / ID_FS_TYPE are used when present; blkid fills in
 * where udev said nothing. A failed blkid is reported in `probeError`, never as "empty".
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
  if (!partitionTable && !signature) {
    try {
      await assertReadable(devnode);
      const found = await blkidProbe(devnode);
      partitionTable = found.PTTYPE;
      signature = found.TYPE;
    } catch (err) {
      facts.probeError = (err as Error).message;
    }
  }
  if (partitionTable) facts.partitionTable = partitionTable;
  if (signature) facts.signature = signature;
  return facts;
}
