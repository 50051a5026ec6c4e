/**
 * A disk's stable identity (design §3): the WWN, else vendor+model+serial, else the by-path link.
 * Loop devices (tests and demos) are identified by their backing file. The stable id names the
 * LocalDisk, so a disk that comes back under another /dev name lands on the same object.
 */
import type { DiskIdentity } from '../api/index.js';
import type { SysfsIdentity } from './sysfs.js';
import type { BlockDevice } from './udev-types.js';

export interface DiskIdentityResult {
  /** What the LocalDisk name is derived from, e.g. `wwn:0x5000c500a1b2c3d4` or `loop:/var/lib/disk.img`. */
  stableId: string;
  identity: DiskIdentity;
}

const maxField = 256;

function clean(value: string | undefined): string | undefined {
  const v = value?.replace(/\s+/g, ' ').trim();
  return v ? v.slice(0, maxField) : undefined;
}

/** The /dev/disk/... link udev made with the given prefix, if any. */
function devlink(properties: Readonly<Record<string, string>>, prefix: string): string | undefined {
  return (properties.DEVLINKS ?? '').split(/\s+/).find((l) => l.startsWith(prefix));
}

/**
 * Identity of a whole disk from udev properties (when udevd ran) and sysfs (always). Returns null
 * when nothing stable is known: such a disk is not published, since its object could not be found
 * again.
 */
export function diskIdentity(dev: BlockDevice, sysfs: SysfsIdentity): DiskIdentityResult | null {
  const p = dev.properties;
  if (dev.sysname.startsWith('loop')) {
    const file = dev.loopBackingFile?.replace(/ \(deleted\)$/, '');
    if (!file) return null;
    return { stableId: `loop:${file}`, identity: { serial: clean(file), model: 'loop' } };
  }
  const wwn = clean(p.ID_WWN_WITH_EXTENSION ?? p.ID_WWN ?? sysfs.wwid);
  const serial = clean(p.ID_SERIAL_SHORT ?? sysfs.serial);
  const model = clean(p.ID_MODEL ?? sysfs.model);
  const vendor = clean(p.ID_VENDOR ?? sysfs.vendor);
  const byIdPath = devlink(p, '/dev/disk/by-id/');
  const byPath = p.ID_PATH ? `/dev/disk/by-path/${p.ID_PATH}` : devlink(p, '/dev/disk/by-path/');
  const identity: DiskIdentity = Object.fromEntries(
    Object.entries({ wwn, serial, model, vendor, byIdPath, byPath }).filter(([, v]) => v !== undefined),
  );
  if (wwn) return { stableId: `wwn:${wwn}`, identity };
  if (serial) return { stableId: `serial:${vendor ?? ''}|${model ?? ''}|${serial}`, identity };
  if (byPath) return { stableId: `path:${byPath}`, identity };
  // No udev: the device's place in /sys/devices is what a by-path link is made from.
  if (sysfs.devicePath && !sysfs.devicePath.startsWith('virtual/')) return { stableId: `path:${sysfs.devicePath}`, identity };
  return null;
}
