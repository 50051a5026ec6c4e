/** Which block devices are disks Loam manages (design §4.1): whole disks, minus virtual and stacked devices. */
import type { BlockDevice } from './udev-types.js';

/** ram, zram, loop, dm-, md, drbd, nbd, rbd and sr (optical) are never disks of their own. */
const skipped = /^(ram|zram|loop|dm-|md|drbd|nbd|rbd|sr|fd)\d*/;

export interface CandidateOptions {
  /** Include attached loop devices (tests and demos). */
  includeLoop: boolean;
}

/** Why a device is not a candidate, or null when it is one. */
export function notACandidate(dev: BlockDevice, opts: CandidateOptions): string | null {
  if (dev.devtype !== 'disk') return 'not a whole disk';
  if (!dev.devnode) return 'no device node';
  const isLoop = dev.sysname.startsWith('loop');
  if (isLoop) {
    if (!opts.includeLoop) return 'loop devices are skipped (see --include-loop)';
    if (!dev.loopBackingFile) return 'loop device without a backing file';
  } else if (skipped.test(dev.sysname)) {
    return 'virtual or stacked device';
  }
  if (!dev.sizeBytes) return 'size 0 (no medium)';
  return null;
}
