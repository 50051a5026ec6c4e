/**
 * Request checks every CSI service shares, in the order the reference driver makes them: required
 * fields (the first missing one is named in INVALID_ARGUMENT), then capabilities, then parameters.
 * Requests arrive as proto-loader decodes them (`keepCase`, `defaults`): an absent string is '',
 * an absent message is null, an absent map is {}, int64 is a decimal string.
 */
import { mediaClasses, nodeLabelValue, type MediaClass } from '../api/index.js';
import { invalidArgument, outOfRange } from './errors.js';

export const driverName = 'lvm.loam.io';
/** The one topology key of the driver: a volume is reachable on the nodes holding its replicas. */
export const topologyKey = 'topology.loam.io/node';

/** StorageClass parameters (design §2) and the keys external-provisioner adds. */
export const parameterKeys = {
  poolClass: 'poolClass',
  replicaCount: 'replicaCount',
  fsType: 'csi.storage.k8s.io/fstype',
  pvcNamespace: 'csi.storage.k8s.io/pvc/namespace',
  pvcName: 'csi.storage.k8s.io/pvc/name',
} as const;
/** Keys of this prefix are the CO's own (pv/pvc names, secrets' names); they never make a request invalid. */
const coParameterPrefix = 'csi.storage.k8s.io/';

/** The filesystems a mount volume can get. */
export const supportedFsTypes = ['ext4', 'xfs'] as const;
export type FsType = (typeof supportedFsTypes)[number];
export const defaultFsType: FsType = 'ext4';
/** volume_context keys CreateVolume returns (and the node service reads back). */
export const volumeContextKeys = { poolClass: 'poolClass', replicaCount: 'replicaCount', fsType: 'fstype' } as const;

/** Access modes of one node: an LV is attached to the node that holds it, never to several. */
export const singleNodeAccessModes = ['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY', 'SINGLE_NODE_SINGLE_WRITER', 'SINGLE_NODE_MULTI_WRITER'] as const;

/** A capability as decoded (fields may be missing in hand-made requests). */
export interface CapabilityInput {
  block?: object | null;
  mount?: { fs_type?: string; mount_flags?: string[] } | null;
  access_mode?: { mode?: string | number } | null;
}

/** Throws INVALID_ARGUMENT naming `field` when `value` is missing or empty. */
export function requireField(rpc: string, field: string, value: unknown): void {
  const empty = value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
  if (empty) throw invalidArgument(`${rpc}: ${field} is required`);
}

/** Throws INVALID_ARGUMENT naming the first of `fields` that is missing or empty. */
export function requireFields<T extends object>(rpc: string, req: T, fields: ReadonlyArray<keyof T & string>): void {
  for (const field of fields) requireField(rpc, field, req[field]);
}

/** int64 fields arrive as a decimal string (or number/Long from hand-made requests); absent means 0. */
export function int64ToNumber(value: number | string | { toString(): string } | null | undefined): number {
  if (value === undefined || value === null || value === '') return 0;
  const n = Number(typeof value === 'object' ? value.toString() : value);
  return Number.isFinite(n) ? n : Number.NaN;
}

export interface CapacityBounds {
  requiredBytes: number;
  /** 0: no limit. */
  limitBytes: number;
}

/** The capacity range; negative or non-numeric bounds are INVALID_ARGUMENT, limit below required is OUT_OF_RANGE. */
export function capacityRangeOf(rpc: string, range: { required_bytes?: unknown; limit_bytes?: unknown } | null | undefined): CapacityBounds {
  const requiredBytes = int64ToNumber(range?.required_bytes as string | undefined);
  const limitBytes = int64ToNumber(range?.limit_bytes as string | undefined);
  for (const [field, value] of [['required_bytes', requiredBytes], ['limit_bytes', limitBytes]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw invalidArgument(`${rpc}: capacity_range.${field} must be a non-negative number of bytes`);
  }
  if (limitBytes > 0 && limitBytes < requiredBytes) {
    throw outOfRange(`${rpc}: capacity_range.limit_bytes (${limitBytes}) is below required_bytes (${requiredBytes})`);
  }
  return { requiredBytes, limitBytes };
}

/** Why Loam cannot serve this capability, or undefined when it can. */
export function capabilityProblem(cap: CapabilityInput | null | undefined): string | undefined {
  if (!cap) return 'a volume capability is empty';
  if (!cap.block && !cap.mount) return 'a volume capability must have an access type (mount or block)';
  const mode = cap.access_mode?.mode;
  if (mode === undefined || mode === null || mode === 'UNKNOWN' || mode === 0) return 'a volume capability must have an access mode';
  if (!(singleNodeAccessModes as readonly unknown[]).includes(mode)) {
    return `access mode ${String(mode)} is not supported: a Loam volume is used on one node at a time (${singleNodeAccessModes.join(', ')})`;
  }
  const fsType = cap.mount?.fs_type;
  if (cap.mount && fsType && !(supportedFsTypes as readonly string[]).includes(fsType)) {
    return `filesystem type "${fsType}" is not supported; use one of ${supportedFsTypes.join(', ')}`;
  }
  return undefined;
}

/** Throws INVALID_ARGUMENT when `field` is missing or one of its capabilities cannot be served. */
export function requireSupportedCapabilities(rpc: string, field: string, caps: ReadonlyArray<CapabilityInput | null> | null | undefined): void {
  requireField(rpc, field, caps);
  for (const [i, cap] of (caps ?? []).entries()) {
    const problem = capabilityProblem(cap);
    if (problem) throw invalidArgument(`${rpc}: ${field}[${i}]: ${problem}`);
  }
}

/** True when any capability asks for a raw block device (no filesystem to grow on the node). */
export function isBlockCapability(cap: CapabilityInput | null | undefined): boolean {
  return !!cap?.block;
}

export interface VolumeParameters {
  poolClass: MediaClass;
  replicaCount: 1 | 2;
  fsType: FsType;
  pvcRef?: { namespace: string; name: string };
}

/**
 * The StorageClass parameters. poolClass is required (matched without regard to case), replicaCount
 * is "1" (default) or "2", fstype ext4 (default) or xfs. An unknown key is refused rather than
 * ignored, so a typo in a StorageClass ("poolclass") does not silently give the wrong volume.
 */
export function volumeParametersOf(rpc: string, params: Record<string, string> | null | undefined): VolumeParameters {
  const p = params ?? {};
  const known = new Set<string>([parameterKeys.poolClass, parameterKeys.replicaCount]);
  for (const key of Object.keys(p)) {
    if (!known.has(key) && !key.startsWith(coParameterPrefix)) {
      throw invalidArgument(`${rpc}: unknown parameter "${key}"; Loam's parameters are ${parameterKeys.poolClass}, ${parameterKeys.replicaCount} and ${parameterKeys.fsType}`);
    }
  }
  const rawClass = p[parameterKeys.poolClass];
  if (!rawClass) throw invalidArgument(`${rpc}: parameters.${parameterKeys.poolClass} is required (one of ${mediaClasses.join(', ')})`);
  const poolClass = mediaClasses.find((c) => c.toLowerCase() === rawClass.toLowerCase());
  if (!poolClass) throw invalidArgument(`${rpc}: parameters.${parameterKeys.poolClass} "${rawClass}" is not a pool class; use one of ${mediaClasses.join(', ')}`);
  const rawCount = p[parameterKeys.replicaCount] ?? '1';
  if (rawCount !== '1' && rawCount !== '2') throw invalidArgument(`${rpc}: parameters.${parameterKeys.replicaCount} "${rawCount}" is not supported; use "1" or "2"`);
  const fsType = (p[parameterKeys.fsType] || defaultFsType).toLowerCase();
  if (!(supportedFsTypes as readonly string[]).includes(fsType)) {
    throw invalidArgument(`${rpc}: parameters.${parameterKeys.fsType} "${p[parameterKeys.fsType]}" is not supported; use one of ${supportedFsTypes.join(', ')}`);
  }
  const namespace = p[parameterKeys.pvcNamespace];
  const name = p[parameterKeys.pvcName];
  return { poolClass, replicaCount: rawCount === '2' ? 2 : 1, fsType: fsType as FsType, ...(namespace && name ? { pvcRef: { namespace, name } } : {}) };
}

/**
 * A node's topology segment. kubelet copies NodeGetInfo's segments onto its Node as labels, and a
 * label value holds at most 63 characters, so the value is the node name as a label value
 * (nodeLabelValue: a long FQDN name is shortened with a hash of it).
 */
export function topologyOf(nodeName: string): { segments: Record<string, string> } {
  return { segments: { [topologyKey]: nodeLabelValue(nodeName) } };
}

/** Segment values of topologies (node names, or shortened ones: see topologyOf), in order; a segment without topology.loam.io/node is INVALID_ARGUMENT. */
export function nodesOfTopologies(rpc: string, field: string, topologies: ReadonlyArray<{ segments?: Record<string, string> } | null> | null | undefined): string[] {
  const nodes: string[] = [];
  for (const [i, t] of (topologies ?? []).entries()) {
    const node = t?.segments?.[topologyKey];
    if (!node) throw invalidArgument(`${rpc}: ${field}[${i}] has no ${topologyKey} segment`);
    if (!nodes.includes(node)) nodes.push(node);
  }
  return nodes;
}
