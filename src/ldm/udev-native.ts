/**
 * Loads the addons built from native/ (native/build/Release/*.node) and describes what they return.
 * Loading is lazy, so importing this module never fails on a machine without the build.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MonitorSource } from './udev-types.js';

/** A device exactly as the addon reads it (see native/src/device.h). */
export interface RawDevice {
  syspath: string | null;
  sysname: string | null;
  devnode: string | null;
  devtype: string | null;
  subsystem: string | null;
  action: string | null;
  major: number | null;
  minor: number | null;
  seqnum: number | null;
  initialized: boolean;
  properties: Record<string, string>;
  sysattrs: Record<string, string | null>;
}

export type RawEventCallback = (error: (Error & { code?: string }) | null, device: RawDevice | null) => void;

export interface NativeMonitor {
  start(onEvent: RawEventCallback): void;
  stop(): void;
  ref(): NativeMonitor;
  unref(): NativeMonitor;
  readonly active: boolean;
}

export interface UdevAddon {
  enumerate(subsystem: string | null, sysattrs: readonly string[]): RawDevice[];
  Monitor: new (source: MonitorSource, subsystem: string | null, sysattrs: readonly string[], receiveBufferBytes?: number) => NativeMonitor;
}

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const loaded = new Map<string, unknown>();

/**
 * The path of native/build/Release/<name>.node, searched upwards from this file so that it is found
 * both from src/ldm (tsx) and from dist/src/ldm (compiled).
 */
export function nativeAddonPath(name: string): string {
  let dir = here;
  for (let depth = 0; depth < 6; depth++) {
    const candidate = path.join(dir, 'native', 'build', 'Release', `${name}.node`);
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`the native addon ${name}.node is not built (looked for native/build/Release above ${here}); ` +
    'run `npm ci` or `node native/build.mjs`, which need libudev-dev and build-essential');
}

/** Loads (once per thread) and returns a native addon by its target name in native/binding.gyp. */
export function loadNativeAddon<T>(name: string): T {
  let addon = loaded.get(name);
  if (addon === undefined) {
    const file = nativeAddonPath(name);
    try {
      addon = require(file) as unknown;
    } catch (cause) {
      throw new Error(`cannot load ${file}`, { cause });
    }
    loaded.set(name, addon);
  }
  return addon as T;
}

export function udevAddon(): UdevAddon {
  return loadNativeAddon<UdevAddon>('loam_udev');
}
