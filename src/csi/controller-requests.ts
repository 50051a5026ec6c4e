/**
 * From a CreateVolume request to the LocalVolume it asks for, and whether an existing LocalVolume
 * of the same id is that volume (idempotent retry) or another one (ALREADY_EXISTS). Pure.
 */
import { createHash } from 'node:crypto';
import { apiVersion, labels, type LocalVolume, type LocalVolumeSpec } from '../api/index.js';
import type { CreateVolumeRequest__Output } from './generated/csi/v1/CreateVolumeRequest.js';
import { invalidArgument, outOfRange } from './errors.js';
import { capacityRangeOf, nodesOfTopologies, parameterKeys, requireField, requireSupportedCapabilities, volumeParametersOf, type CapacityBounds, type FsType } from './validate.js';

/** LocalVolume annotations the controller writes: the request's name and the volume_context Loam keeps. */
export const volumeAnnotations = {
  /** The CreateVolume name the id was derived from (differs from the id only when it had to be hashed). */
  csiName: 'loam.io/csi-name',
  fsType: 'loam.io/fstype',
} as const;

const Mi = 2 ** 20;
/** LVM allocates in 4 MiB extents: asking for a whole number of them makes spec and LV agree. */
export const extentBytes = 4 * Mi;
/** The size of a volume whose request names none. */
export const defaultVolumeBytes = 2 ** 30;

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The volume id of a CreateVolume name. external-provisioner sends `pvc-<uid>`, a valid DNS-1123
 * label, which is used as it is (it names the LocalVolume, the LVs and the `loam.io/volume` label,
 * so it must fit a label value: ≤ 63 characters). Any other name maps to `vol-` + 40 hex of its
 * sha256, stable across retries.
 */
export function volumeIdOf(name: string): string {
  if (name.length <= 63 && dns1123Label.test(name)) return name;
  return `vol-${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
}

/** True when `id` could name a LocalVolume at all (anything else is an unknown volume). */
export function isPossibleVolumeId(id: string): boolean {
  return id.length <= 63 && dns1123Label.test(id);
}

/** The bytes to ask LVM for: required rounded up to whole extents (or the default), within the limit. */
export function volumeBytesOf(rpc: string, bounds: CapacityBounds): number {
  const wanted = bounds.requiredBytes > 0 ? bounds.requiredBytes : Math.min(defaultVolumeBytes, bounds.limitBytes || defaultVolumeBytes);
  const rounded = Math.ceil(wanted / extentBytes) * extentBytes;
  if (bounds.limitBytes === 0 || rounded <= bounds.limitBytes) return rounded;
  const largestFitting = Math.floor(bounds.limitBytes / extentBytes) * extentBytes;
  if (largestFitting >= wanted && largestFitting > 0) return largestFitting;
  throw outOfRange(`${rpc}: no whole number of 4 MiB extents fits capacity_range (required ${bounds.requiredBytes}, limit ${bounds.limitBytes})`);
}

export interface CreateVolumePlan {
  id: string;
  name: string;
  bounds: CapacityBounds;
  fsType: FsType;
  /** The LocalVolume to create when none exists. */
  volume: LocalVolume;
}

/** Validates a CreateVolume request in the spec's order and plans its LocalVolume. */
export function planCreateVolume(req: CreateVolumeRequest__Output): CreateVolumePlan {
  const rpc = 'CreateVolume';
  requireField(rpc, 'name', req.name);
  requireSupportedCapabilities(rpc, 'volume_capabilities', req.volume_capabilities);
  if (req.volume_content_source?.snapshot || req.volume_content_source?.volume) {
    throw invalidArgument(`${rpc}: volume_content_source is not supported: Loam volumes cannot be created from a snapshot or another volume`);
  }
  const params = volumeParametersOf(rpc, req.parameters);
  // Two replicas without a mirror between them are two different, empty LVs: a pod rescheduled to
  // the second node would find (and format) nothing of its data. Until DRBD replication exists,
  // a dual-replica volume is refused rather than promised.
  if (params.replicaCount === 2) {
    throw invalidArgument(`${rpc}: parameters.${parameterKeys.replicaCount} "2": dual-replica volumes need replication (DRBD), which is not available yet; use replicaCount "1"`);
  }
  const bounds = capacityRangeOf(rpc, req.capacity_range);
  const capacityBytes = volumeBytesOf(rpc, bounds);
  const requiredNodes = nodesOfTopologies(rpc, 'accessibility_requirements.requisite', req.accessibility_requirements?.requisite);
  const preferredNodes = nodesOfTopologies(rpc, 'accessibility_requirements.preferred', req.accessibility_requirements?.preferred);
  const id = volumeIdOf(req.name);
  const accessibility = requiredNodes.length > 0 || preferredNodes.length > 0 ? { accessibility: { ...(requiredNodes.length ? { requiredNodes } : {}), ...(preferredNodes.length ? { preferredNodes } : {}) } } : {};
  const spec: LocalVolumeSpec = {
    poolClass: params.poolClass,
    capacityBytes,
    replicaCount: params.replicaCount,
    ...(params.pvcRef ? { pvcRef: params.pvcRef } : {}),
    ...accessibility,
  };
  const volume: LocalVolume = {
    apiVersion,
    kind: 'LocalVolume',
    metadata: {
      name: id,
      labels: { [labels.poolClass]: params.poolClass },
      annotations: { [volumeAnnotations.csiName]: req.name, [volumeAnnotations.fsType]: params.fsType },
    },
    spec,
  };
  return { id, name: req.name, bounds, fsType: params.fsType, volume };
}

/**
 * Why `existing` is not the volume `plan` asks for (→ ALREADY_EXISTS), or undefined when a retry
 * may return it: same name, class, replica count and filesystem, and a size within the range.
 */
export function incompatibility(existing: LocalVolume, plan: CreateVolumePlan): string | undefined {
  const want = plan.volume;
  const name = existing.metadata.annotations?.[volumeAnnotations.csiName];
  if (name !== undefined && name !== plan.name) return `volume id ${plan.id} belongs to the volume named "${name}"`;
  if (existing.spec.poolClass !== want.spec.poolClass) return `volume ${plan.name} exists with poolClass ${existing.spec.poolClass}, not ${want.spec.poolClass}`;
  if (existing.spec.replicaCount !== want.spec.replicaCount) return `volume ${plan.name} exists with replicaCount ${existing.spec.replicaCount}, not ${want.spec.replicaCount}`;
  const fsType = existing.metadata.annotations?.[volumeAnnotations.fsType];
  if (fsType !== undefined && fsType !== plan.fsType) return `volume ${plan.name} exists with fstype ${fsType}, not ${plan.fsType}`;
  const size = existing.spec.capacityBytes;
  if (size < plan.bounds.requiredBytes || (plan.bounds.limitBytes > 0 && size > plan.bounds.limitBytes)) {
    return `volume ${plan.name} exists with ${size} bytes, outside the requested range (required ${plan.bounds.requiredBytes}, limit ${plan.bounds.limitBytes || 'none'})`;
  }
  return undefined;
}
