/**
 * Checks of the Node service's requests beyond the shared ones of validate.ts: the access type
 * of a capability, the filesystem a mount volume gets and its mount flags (paths: node-paths.ts).
 */
import type { VolumeCapability } from './generated/csi/v1/VolumeCapability.js';
import { invalidArgument } from './errors.js';
import { capabilityProblem, defaultFsType, supportedFsTypes, volumeContextKeys, type FsType } from './validate.js';

export type AccessType = 'mount' | 'block';

/** Mount or block, for a capability that Loam can serve (else INVALID_ARGUMENT saying why). */
export function accessTypeOf(rpc: string, cap: VolumeCapability): AccessType {
  const problem = capabilityProblem(cap);
  if (problem) throw invalidArgument(`${rpc}: volume_capability: ${problem}`);
  return cap.block ? 'block' : 'mount';
}

/**
 * The filesystem of a mount volume: what the request's capability asks for (kubelet passes the
 * PV's fsType), else what CreateVolume recorded in volume_context, else ext4.
 */
export function fsTypeOf(rpc: string, cap: VolumeCapability, volumeContext: Record<string, string> | null | undefined): FsType {
  const requested = cap.mount?.fs_type || volumeContext?.[volumeContextKeys.fsType] || defaultFsType;
  if (!(supportedFsTypes as readonly string[]).includes(requested)) {
    throw invalidArgument(`${rpc}: filesystem type "${requested}" is not supported; use one of ${supportedFsTypes.join(', ')}`);
  }
  return requested as FsType;
}

/** Mount flags of the capability; a flag with whitespace in it is not one mount option and is refused. */
export function mountFlagsOf(rpc: string, cap: VolumeCapability): string[] {
  const flags = cap.mount?.mount_flags ?? [];
  for (const flag of flags) {
    if (flag === '' || /\s/.test(flag)) throw invalidArgument(`${rpc}: mount flag "${flag}" is not a single mount option`);
  }
  return flags;
}
