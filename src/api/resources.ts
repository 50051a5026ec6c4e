/** The six kinds as REST resources (group/version/plural), for informers, apply and status patches. */
import { resourceRef, type ResourceRef } from '../kube/resource.js';
import { group, plurals, version } from './constants.js';

const loam = (plural: string, kind: string): ResourceRef => resourceRef(group, version, plural, kind, false);

export const loamResources = {
  localDisks: loam(plurals.localDisks, 'LocalDisk'),
  localDiskClaims: loam(plurals.localDiskClaims, 'LocalDiskClaim'),
  localDiskNodes: loam(plurals.localDiskNodes, 'LocalDiskNode'),
  localStorageNodes: loam(plurals.localStorageNodes, 'LocalStorageNode'),
  localVolumes: loam(plurals.localVolumes, 'LocalVolume'),
  localVolumeReplicas: loam(plurals.localVolumeReplicas, 'LocalVolumeReplica'),
} as const;
