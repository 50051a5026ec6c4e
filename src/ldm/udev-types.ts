/** The typed shapes that src/ldm/udev.ts hands out. Raw facts only; what they mean is decided elsewhere. */

/** Where uevents come from: `udev` after udevd processed them, `kernel` straight from the kernel. */
export type MonitorSource = 'udev' | 'kernel';

/** The uevent actions a block device produces. */
export type BlockDeviceAction = 'add' | 'change' | 'remove' | 'move';

/**
 * A block device as udev and sysfs describe it at the moment it was read.
 * With the `kernel` source (and wherever udevd never ran) `properties` holds only what the kernel
 * sends (DEVNAME, DEVTYPE, MAJOR, MINOR, DISKSEQ, ...): no ID_* properties and no DEVLINKS.
 */
export interface BlockDevice {
  /** e.g. `/sys/devices/virtual/block/loop3` */
  syspath: string;
  /** e.g. `loop3`, `sda1` */
  sysname: string;
  /** e.g. `/dev/loop3`; null when the device has no node */
  devnode: string | null;
  /** `disk` or `partition` for block devices */
  devtype: string | null;
  subsystem: string | null;
  major: number | null;
  minor: number | null;
  /** The kernel's uevent sequence number; null for enumerated devices. */
  seqnum: number | null;
  /** True when udevd has processed the device (its database entry exists). */
  initialized: boolean;
  /** Every udev property, e.g. ID_SERIAL, ID_WWN, ID_MODEL, ID_BUS, ID_PATH, ID_FS_TYPE, DEVLINKS. */
  properties: Readonly<Record<string, string>>;
  /** sysfs `size`: the capacity in 512-byte sectors, whatever the logical block size. */
  sizeSectors: number | null;
  /** `sizeSectors` × 512. */
  sizeBytes: number | null;
  /** sysfs `queue/rotational` (disks only; null for partitions). */
  rotational: boolean | null;
  /** sysfs `removable` (disks only). */
  removable: boolean | null;
  /** sysfs `ro`. */
  readOnly: boolean | null;
  /** sysfs `loop/backing_file`: the file behind an attached loop device. */
  loopBackingFile: string | null;
}

/**
 * A uevent for a block device: the device as read when the event was received, plus its action.
 * For `remove` the sysfs fields are null: the device's sysfs folder is gone by then.
 */
export interface BlockDeviceEvent extends BlockDevice {
  action: BlockDeviceAction;
  seqnum: number | null;
}

export interface UdevMonitorOptions {
  /** `auto` (default): `udev` where udevd runs (/run/udev/control exists), else `kernel`. */
  source?: MonitorSource | 'auto';
  /** Only events of this subsystem; default `block`. */
  subsystem?: string;
  /**
   * Socket receive buffer asked of the kernel; default 16 MiB, so that bursts are not lost. Above
   * net.core.rmem_max it is granted only with CAP_NET_ADMIN. When it overflows, `overflow` is emitted.
   */
  receiveBufferBytes?: number;
}

/** The events of a UdevMonitor. */
export interface UdevMonitorEvents {
  add: [BlockDeviceEvent];
  change: [BlockDeviceEvent];
  remove: [BlockDeviceEvent];
  move: [BlockDeviceEvent];
  /** The kernel dropped uevents (socket buffer full): state must be re-read by enumeration. */
  overflow: [Error];
  /** Any other receive failure; logged instead when nobody listens. */
  error: [Error];
}
