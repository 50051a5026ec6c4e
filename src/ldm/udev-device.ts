/** Turns the addon's raw device records into typed BlockDevice values. Pure; no I/O. */
import type { BlockDevice, BlockDeviceAction, BlockDeviceEvent } from './udev-types.js';
import type { RawDevice } from './udev-native.js';

/** The sysfs attributes read for every device, relative to its syspath. */
export const BLOCK_SYSATTRS = ['size', 'queue/rotational', 'removable', 'ro', 'loop/backing_file'] as const;

const SECTOR_BYTES = 512;
const ACTIONS: ReadonlySet<string> = new Set<BlockDeviceAction>(['add', 'change', 'remove', 'move']);

function parseCount(value: string | null | undefined): number | null {
  if (value == null || !/^\d+$/.test(value.trim())) return null;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : null;
}

function parseFlag(value: string | null | undefined): boolean | null {
  const v = value?.trim();
  if (v === '1') return true;
  if (v === '0') return false;
  return null;
}

function nonEmpty(value: string | null | undefined): string | null {
  return value == null || value === '' ? null : value;
}

/** The typed view of one raw record; throws if the record lacks the fields every device has. */
export function toBlockDevice(raw: RawDevice): BlockDevice {
  if (!raw.syspath || !raw.sysname) {
    throw new Error(`udev device record without syspath or sysname: ${JSON.stringify(raw)}`);
  }
  const sizeSectors = parseCount(raw.sysattrs['size']);
  return {
    syspath: raw.syspath,
    sysname: raw.sysname,
    devnode: raw.devnode,
    devtype: raw.devtype,
    subsystem: raw.subsystem,
    major: raw.major,
    minor: raw.minor,
    seqnum: raw.seqnum,
    initialized: raw.initialized,
    properties: raw.properties,
    sizeSectors,
    sizeBytes: sizeSectors === null ? null : sizeSectors * SECTOR_BYTES,
    rotational: parseFlag(raw.sysattrs['queue/rotational']),
    removable: parseFlag(raw.sysattrs['removable']),
    readOnly: parseFlag(raw.sysattrs['ro']),
    loopBackingFile: nonEmpty(raw.sysattrs['loop/backing_file']),
  };
}

export function isBlockDeviceAction(action: string | null): action is BlockDeviceAction {
  return action !== null && ACTIONS.has(action);
}

/** The typed event of a raw record, or null when its action is not one a block device listener handles. */
export function toBlockDeviceEvent(raw: RawDevice): BlockDeviceEvent | null {
  if (!isBlockDeviceAction(raw.action)) return null;
  return { ...toBlockDevice(raw), action: raw.action };
}
