/**
 * What the extender reads about the cluster, as narrow structural types: the informer caches satisfy
 * this interface in production, plain maps in unit tests.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';

export const driverName = 'lvm.loam.io';
export const topologyKey = 'topology.loam.io/node';
export const selectedNodeAnnotation = 'volume.kubernetes.io/selected-node';

export type PoolClass = 'HDD' | 'SSD' | 'NVMe';

export interface PoolView {
  name?: string;
  mediaClass: PoolClass;
  totalBytes: number;
  freeBytes: number;
}

export interface StorageNodeView {
  metadata?: { name?: string };
  spec?: { nodeName?: string };
  status?: { state?: string; pools?: PoolView[] };
}

export interface VolumeView {
  metadata?: { name?: string };
  spec?: { poolClass?: PoolClass; capacityBytes?: number; replicaCount?: number; replicaNodes?: string[] };
  status?: { state?: string; replicas?: { nodeName?: string; state?: string; synced?: boolean }[] };
}

export interface ReplicaView {
  metadata?: { name?: string };
  spec?: { volumeName?: string; nodeName?: string; poolName?: string; capacityBytes?: number };
}

export interface ClusterView {
  claim(namespace: string, name: string): V1PersistentVolumeClaim | undefined;
  storageClass(name: string): V1StorageClass | undefined;
  persistentVolume(name: string): V1PersistentVolume | undefined;
  volume(name: string): VolumeView | undefined;
  storageNode(nodeName: string): StorageNodeView | undefined;
  storageNodes(): StorageNodeView[];
  /** LocalVolumeReplicas placed on a node (created or not yet). */
  replicasOnNode(nodeName: string): ReplicaView[];
  /** Claims whose `volume.kubernetes.io/selected-node` annotation names this node. */
  claimsSelectedFor(nodeName: string): V1PersistentVolumeClaim[];
}
