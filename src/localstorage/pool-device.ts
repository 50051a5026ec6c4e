/**
 * The device behind a LocalDisk, read again right before the PoolManager acts: found among the
 * block devices the kernel has now, checked to be the same disk (its stable identity gives the
 * LocalDisk's name, so a renamed /dev node can never point us at another disk), and probed with
 * the Local Disk Manager's own safety probe. Also device numbers, to match `pvs` rows to disks.
 */
import { stat } from 'node:fs/promises';
import { localDiskName, type LocalDisk } from '../api/index.js';
import { notACandidate } from '../ldm/candidates.js';
import { diskIdentity } from '../ldm/identity.js';
import { probeDisk, readSystemTables, type SafetyFacts } from '../ldm/probe.js';
import { readSysfsIdentity } from '../ldm/sysfs.js';
import { enumerateBlockDevices } from '../ldm/udev.js';
import type { BlockDevice } from '../ldm/udev-types.js';
import type { PvReport } from './lvm.js';

export interface ProbedDevice {
  /** The device node now, e.g. /dev/sdb. */
  devnode: string;
  /** The path to hand LVM: the stable /dev/disk/by-id link where it exists and is this device, else devnode. */
  lvmPath: string;
  /** `st_rdev` of the device node, to find the disk's row in `pvs`. */
  rdev: number;
  facts: SafetyFacts;
}

/** st_rdev of a block device node (or link to one); undefined when it is not there. */
export async function deviceNumber(path: string): Promise<number | undefined> {
  try {
    const st = await stat(path);
    return st.isBlockDevice() ? st.rdev : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The block device that is this LocalDisk now: the kernel's device at spec.devicePath, a whole
 * disk that is not virtual or stacked (never an LV, DRBD, MD or NBD device, where a tenant's data
 * lives), whose stable identity gives the LocalDisk's name. Undefined when there is none.
 */
export async function findDiskDevice(disk: LocalDisk, devices: BlockDevice[]): Promise<{ dev: BlockDevice & { devnode: string }; rdev: number } | undefined> {
  const name = disk.metadata?.name;
  const dev = devices.find((d) => d.devnode === disk.spec.devicePath && d.devtype === 'disk');
  if (!dev?.devnode || !name || notACandidate(dev, { includeLoop: true }) !== null) return undefined;
  const id = diskIdentity(dev, readSysfsIdentity(dev.sysname));
  if (!id || localDiskName(disk.spec.nodeName, id.stableId) !== name) return undefined;
  const rdev = await deviceNumber(dev.devnode);
  return rdev === undefined ? undefined : { dev: { ...dev, devnode: dev.devnode }, rdev };
}

/** Finds the disk's device and probes it; undefined when the disk is not on the node now. */
export async function probeDiskDevice(disk: LocalDisk, enumerate: () => BlockDevice[] = enumerateBlockDevices): Promise<ProbedDevice | undefined> {
  const found = await findDiskDevice(disk, enumerate());
  if (!found) return undefined;
  const { dev, rdev } = found;
  const facts = await probeDisk(dev, await readSystemTables());
  const byId = disk.spec.identity?.byIdPath;
  const lvmPath = byId && (await deviceNumber(byId)) === rdev ? byId : dev.devnode;
  return { devnode: dev.devnode, lvmPath, rdev, facts };
}

/** The `pvs` row whose device is `rdev`, if any (LVM may name a device by another path than ours). */
export async function pvOfDevice(pvs: PvReport[], rdev: number): Promise<PvReport | undefined> {
  for (const pv of pvs) if ((await deviceNumber(pv.pvName)) === rdev) return pv;
  return undefined;
}
