/**
 * The Identity service, served by both loam-controller and loam-node: who the plugin is, what it
 * can do, and whether it is ready (its informers have synced). It takes no lock: it reads nothing
 * that a volume operation changes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IdentityService } from './server.js';
import { driverName } from './validate.js';

export interface IdentityOptions {
  /** True once the component's caches are filled; Probe answers ready=false until then. */
  ready: () => boolean;
  /** Advertise the controller service and its capabilities (loam-controller; default true). */
  controller?: boolean;
}

/** Loam's version from the package.json above this module (src/ in development, dist/src/ when built). */
export function loamVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 5; dir = dirname(dir), i++) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'loam' && pkg.version) return pkg.version;
  }
  return '0.0.0-unknown';
}

export function createIdentityService(opts: IdentityOptions): IdentityService {
  const version = loamVersion();
  const controller = opts.controller ?? true;
  return {
    GetPluginInfo: async () => ({ name: driverName, vendor_version: version }),
    GetPluginCapabilities: async () => ({
      capabilities: [
        ...(controller ? [{ service: { type: 'CONTROLLER_SERVICE' as const } }] : []),
        { service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' as const } },
        { volume_expansion: { type: 'ONLINE' as const } },
      ],
    }),
    Probe: async () => ({ ready: { value: opts.ready() } }),
  };
}
