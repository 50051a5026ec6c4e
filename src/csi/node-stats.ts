/**
 * NodeGetVolumeStats' answer: bytes and inodes of a mounted filesystem as `df` counts them
 * (statfs: size = blocks, used = blocks - free, available = blocks available to users), the size
 * of a block volume's device, and the volume's condition from LVM: abnormal when the LV is gone
 * or not active.
 */
import { statfs } from 'node:fs/promises';
import type { Lvm } from '../localstorage/lvm.js';

export interface VolumeUsage {
  unit: 'BYTES' | 'INODES';
  total: number;
  used: number;
  available: number;
}

export interface VolumeCondition {
  abnormal: boolean;
  message: string;
}

export interface StatfsNumbers { bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number }

export function usageOfStatfs(s: StatfsNumbers): VolumeUsage[] {
  return [
    { unit: 'BYTES', total: s.blocks * s.bsize, used: (s.blocks - s.bfree) * s.bsize, available: s.bavail * s.bsize },
    { unit: 'INODES', total: s.files, used: s.files - s.ffree, available: s.ffree },
  ];
}

export async function filesystemUsage(path: string): Promise<VolumeUsage[]> {
  return usageOfStatfs(await statfs(path));
}

/** A block volume has no filesystem to count in: its size is all there is to say. */
export function blockUsage(deviceBytes: number): VolumeUsage[] {
  return [{ unit: 'BYTES', total: deviceBytes, used: 0, available: 0 }];
}

/** `/dev/<vg>/<lv>` → its VG and LV; undefined for a device path of another shape. */
export function lvOfDevicePath(devicePath: string): { vgName: string; lvName: string } | undefined {
  const m = /^\/dev\/([^/]+)\/([^/]+)$/.exec(devicePath);
  if (!m || m[1] === 'mapper' || m[1] === 'disk') return undefined;
  return { vgName: m[1]!, lvName: m[2]! };
}

/**
 * The condition of a volume whose device is `devicePath`. For an LV path, LVM is asked: missing or
 * inactive is abnormal. A device of another shape (a test's loop device) is normal when present.
 */
export async function volumeCondition(lvm: Pick<Lvm, 'findLv'>, devicePath: string, deviceExists: boolean, signal?: AbortSignal): Promise<VolumeCondition> {
  const lv = lvOfDevicePath(devicePath);
  if (!lv) {
    return deviceExists ? { abnormal: false, message: `device ${devicePath} is present` } : { abnormal: true, message: `device ${devicePath} is missing` };
  }
  try {
    const found = await lvm.findLv(lv.vgName, lv.lvName, { signal, timeoutMs: 30_000 });
    if (!found) return { abnormal: true, message: `LV ${lv.vgName}/${lv.lvName} does not exist` };
    if (!found.active) return { abnormal: true, message: `LV ${lv.vgName}/${lv.lvName} is not active` };
    return { abnormal: false, message: `LV ${lv.vgName}/${lv.lvName} is active` };
  } catch (err) {
    return { abnormal: true, message: `LVM could not report LV ${lv.vgName}/${lv.lvName}: ${(err as Error).message}` };
  }
}
