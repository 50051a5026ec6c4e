/**
 * The devices every LVM command of loam-node is restricted to (`--devices`, see lvm.ts): the
 * disks of this node claimed for `local-storage`, each found again among the kernel's block
 * devices and checked to be that disk (findDiskDevice: its identity gives the LocalDisk's name,
 * and it is a whole disk, never an LV, DRBD, MD or NBD device). A VG a tenant builds inside a
 * volume therefore never reaches LVM's view, however it is named or tagged.
 *
 * Why this is trusted: spec.claimRef and spec.owner are written by the claim binder, spec.devicePath
 * by loam-node; what a path points at is re-derived from the kernel each time, so a patched
 * devicePath can point LVM at no device that is not the claimed disk itself. Read from the informer
 * cache and sysfs on every call (well under a millisecond), so a renamed device node is never stale.
 */
import { localStorageOwner, type LocalDisk } from '../api/index.js';
import type { Informer } from '../kube/index.js';
import { enumerateBlockDevices } from '../ldm/udev.js';
import type { BlockDevice } from '../ldm/udev-types.js';
import type { DeviceSource } from './lvm.js';
import { findDiskDevice } from './pool-device.js';

/** A disk of `nodeName` given to Local Storage and not known to be gone. */
export function isPoolDisk(disk: LocalDisk, nodeName: string): boolean {
  return disk.spec.nodeName === nodeName && disk.spec.claimRef !== undefined && disk.spec.owner === localStorageOwner && disk.status?.state !== 'Offline';
}

/** The device nodes of the node's pool disks, as a DeviceSource for the LVM door. */
export function poolDeviceSource(informer: Pick<Informer<LocalDisk>, 'cache'>, nodeName: string, enumerate: () => BlockDevice[] = enumerateBlockDevices): DeviceSource {
  return async () => {
    const devices = enumerate();
    const found: string[] = [];
    for (const disk of informer.cache.list()) {
      if (!isPoolDisk(disk, nodeName)) continue;
      const dev = await findDiskDevice(disk, devices);
      if (dev) found.push(dev.dev.devnode);
    }
    return found.sort();
  };
}
