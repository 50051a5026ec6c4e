/**
 * Block devices from libudev (through the addon in native/): enumeration and a monitor of their
 * uevents. Only typed facts leave this module; what they mean for Loam is decided by its users.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { componentLogger } from '../common/logger.js';
import { BLOCK_SYSATTRS, toBlockDevice, toBlockDeviceEvent } from './udev-device.js';
import { udevAddon, type NativeMonitor, type RawDevice } from './udev-native.js';
import type { BlockDevice, MonitorSource, UdevMonitorEvents, UdevMonitorOptions } from './udev-types.js';

export type {
  BlockDevice,
  BlockDeviceAction,
  BlockDeviceEvent,
  MonitorSource,
  UdevMonitorEvents,
  UdevMonitorOptions,
} from './udev-types.js';

const log = componentLogger('udev');

/** udevd's control socket: present exactly when udevd runs. */
export const UDEV_CONTROL_PATH = '/run/udev/control';

/** `udev` where udevd runs, else `kernel` (as on hosts and VMs without udevd). */
export function defaultMonitorSource(controlPath: string = UDEV_CONTROL_PATH): MonitorSource {
  return existsSync(controlPath) ? 'udev' : 'kernel';
}

/** Every block device the kernel knows now (disks and partitions), with udev properties and sysfs attributes. */
export function enumerateBlockDevices(): BlockDevice[] {
  return udevAddon().enumerate('block', BLOCK_SYSATTRS).map(toBlockDevice);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' ? `'${value}'` : `a ${typeof value}`;
}

interface CheckedOptions {
  source: MonitorSource;
  subsystem: string;
  receiveBufferBytes: number | undefined;
}

function checkOptions(options: unknown): CheckedOptions {
  if (options === undefined) return { source: defaultMonitorSource(), subsystem: 'block', receiveBufferBytes: undefined };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`UdevMonitor: argument 'options' must be an object, got ${describe(options)}`);
  }
  const { source = 'auto', subsystem = 'block', receiveBufferBytes } = options as Record<string, unknown>;
  if (source !== 'auto' && source !== 'udev' && source !== 'kernel') {
    throw new TypeError(`UdevMonitor: 'options.source' must be 'udev', 'kernel' or 'auto', got ${describe(source)}`);
  }
  if (typeof subsystem !== 'string' || subsystem === '') {
    throw new TypeError(`UdevMonitor: 'options.subsystem' must be a non-empty string, got ${describe(subsystem)}`);
  }
  if (receiveBufferBytes !== undefined && !(Number.isInteger(receiveBufferBytes) && (receiveBufferBytes as number) >= 1 && (receiveBufferBytes as number) < 2 ** 31)) {
    throw new TypeError(`UdevMonitor: 'options.receiveBufferBytes' must be an integer from 1 to 2^31-1, got ${describe(receiveBufferBytes)}`);
  }
  return { source: source === 'auto' ? defaultMonitorSource() : source, subsystem, receiveBufferBytes: receiveBufferBytes as number | undefined };
}

/**
 * Streams uevents of one subsystem (default `block`) as `add`, `change`, `remove` and `move` events
 * carrying the device as read when the event arrived. The socket is polled in this thread's own event
 * loop: no thread, no busy loop. Several monitors may run at once, also in worker threads.
 *
 * `start()` opens the netlink socket (throws an Error with the errno text if it cannot), `stop()`
 * closes it; both are idempotent and may be called again. A started monitor keeps the process alive
 * unless `unref()` was called.
 */
export class UdevMonitor extends EventEmitter<UdevMonitorEvents> {
  readonly source: MonitorSource;
  readonly subsystem: string;
  readonly #native: NativeMonitor;

  constructor(options?: UdevMonitorOptions) {
    super();
    const checked = checkOptions(options);
    this.source = checked.source;
    this.subsystem = checked.subsystem;
    this.#native = new (udevAddon().Monitor)(this.source, this.subsystem, BLOCK_SYSATTRS, checked.receiveBufferBytes);
  }

  /** True between start() and stop(). */
  get active(): boolean {
    return this.#native.active;
  }

  start(): this {
    if (this.#native.active) return this;
    this.#native.start((error, raw) => this.#receive(error, raw));
    log.debug('monitor started', { source: this.source, subsystem: this.subsystem });
    return this;
  }

  stop(): this {
    if (!this.#native.active) return this;
    this.#native.stop();
    log.debug('monitor stopped', { source: this.source, subsystem: this.subsystem });
    return this;
  }

  /** Keep the process alive while the monitor is started (the default). */
  ref(): this {
    this.#native.ref();
    return this;
  }

  /** Let the process exit even while the monitor is started. */
  unref(): this {
    this.#native.unref();
    return this;
  }

  #receive(error: (Error & { code?: string }) | null, raw: RawDevice | null): void {
    if (error) {
      if (error.code === 'ENOBUFS') {
        log.warn('uevents lost: the socket buffer overflowed', { source: this.source, subsystem: this.subsystem });
        this.emit('overflow', error);
      } else if (this.listenerCount('error') > 0) {
        this.emit('error', error);
      } else {
        log.warn('uevent receive failed', { source: this.source, subsystem: this.subsystem, error: error.message });
      }
      return;
    }
    if (!raw) return;
    const event = toBlockDeviceEvent(raw);
    if (!event) {
      log.debug('uevent with an action a block device listener does not handle', { action: raw.action, syspath: raw.syspath });
      return;
    }
    this.emit(event.action, event);
  }
}
