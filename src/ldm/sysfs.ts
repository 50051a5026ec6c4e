/** Small, read-only sysfs readers for the facts udev does not give where no udevd runs. */
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { BlockDevice } from './udev-types.js';

export const sysClassBlock = '/sys/class/block';

/** The trimmed text of a sysfs attribute, or undefined when it does not exist or cannot be read. */
export function readAttr(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/** Identity attributes of a disk's device (SCSI/NVMe `device/wwid`, `device/serial`, virtio `serial`, ...). */
export interface SysfsIdentity {
  wwid?: string;
  serial?: string;
  model?: string;
  vendor?: string;
  /** The device's path below /sys/devices, e.g. `pci0000:00/0000:00:05.0/virtio2/block/vda`. */
  devicePath?: string;
  /** `device/transport` or the parent bus, e.g. `nvme`, `virtio`, `scsi`. */
  transport?: string;
}

export function readSysfsIdentity(sysname: string, root = sysClassBlock): SysfsIdentity {
  const dir = path.join(root, sysname);
  const attr = (name: string): string | undefined => readAttr(path.join(dir, name));
  let devicePath: string | undefined;
  try {
    devicePath = realpathSync(dir).replace(/^\/sys\/devices\//, '');
  } catch {
    devicePath = undefined;
  }
  return {
    wwid: attr('wwid') ?? attr('device/wwid'),
    serial: attr('serial') ?? attr('device/serial'),
    model: attr('device/model'),
    vendor: attr('device/vendor'),
    devicePath,
    transport: attr('device/transport') ?? (sysname.startsWith('nvme') ? 'nvme' : undefined),
  };
}

/** Children of a disk that are partitions (they have a `partition` attribute). */
export function readPartitions(sysname: string, root = sysClassBlock): string[] {
  const dir = path.join(root, sysname);
  return safeReaddir(dir).filter((child) => child.startsWith(sysname) && readAttr(path.join(dir, child, 'partition')) !== undefined);
}

/** Holders of a disk and of its partitions, e.g. `dm-0`, `md127`. */
export function readHolders(sysname: string, root = sysClassBlock): string[] {
  const dir = path.join(root, sysname);
  const holders = safeReaddir(path.join(dir, 'holders'));
  for (const part of readPartitions(sysname, root)) holders.push(...safeReaddir(path.join(dir, part, 'holders')));
  return [...new Set(holders)];
}

/** `major:minor` of the disk's partitions, e.g. `['8:1', '8:2']`. */
export function readPartitionNumbers(sysname: string, root = sysClassBlock): string[] {
  return readPartitions(sysname, root)
    .map((part) => readAttr(path.join(root, sysname, part, 'dev')))
    .filter((dev): dev is string => dev !== undefined);
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * A device as last seen in a uevent, with its sysfs attributes read again now (the event may be a
 * debounce period old). Undefined when the device is gone from sysfs.
 */
export function refreshedDevice<T extends BlockDevice>(seen: T, root = sysClassBlock): BlockDevice | undefined {
  const dir = path.join(root, seen.sysname);
  const size = readAttr(path.join(dir, 'size'));
  if (size === undefined) return undefined;
  const flag = (name: string): boolean | null => {
    const v = readAttr(path.join(dir, name));
    return v === undefined ? null : v === '1';
  };
  const sizeSectors = Number(size);
  return {
    ...seen,
    sizeSectors,
    sizeBytes: sizeSectors * 512,
    rotational: flag('queue/rotational'),
    removable: flag('removable'),
    readOnly: flag('ro'),
    loopBackingFile: readAttr(path.join(dir, 'loop/backing_file')) ?? null,
  };
}
