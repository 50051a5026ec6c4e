/**
 * What the extender reads about the cluster, as narrow structural types: the informer caches satisfy
 * this interface in production, plain maps in unit tests.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import type { MediaClass } from '../api/index.js';
import type { RoomNode, RoomPool, RoomReplica, RoomSources, RoomVolume } from '../localstorage/placement-room.js';

export const driverName = 'lvm.loam.io';
export const topologyKey = 'topology.loam.io/node';
export const selectedNodeAnnotation = 'volume.kubernetes.io/selected-node';

export type PoolClass = MediaClass;

export type PoolView = RoomPool;

export interface StorageNodeView extends RoomNode {
  metadata?: { name?: string };
  spec?: { nodeName?: string };
}

export interface VolumeView extends RoomVolume {
  metadata?: { name?: string; deletionTimestamp?: unknown };
  spec?: { poolClass?: PoolClass; capacityBytes?: number; replicaCount?: number; replicaNodes?: string[] };
  status?: { state?: string; replicas?: { nodeName?: string; state?: string; synced?: boolean }[] };
}

export interface ReplicaView extends RoomReplica {
  metadata?: { name?: string };
  spec?: { volumeName?: string; nodeName?: string; poolName?: string; capacityBytes?: number };
}

/**
 * The cluster as the extender reads it. It is also the source of the room arithmetic shared with
 * placement (src/localstorage/placement-room.ts), including the clock and heartbeat threshold that
 * decide whether a node takes new volumes.
 */
export interface ClusterView extends RoomSources {
  claim(namespace: string, name: string): V1PersistentVolumeClaim | undefined;
  storageClass(name: string): V1StorageClass | undefined;
  persistentVolume(name: string): V1PersistentVolume | undefined;
  volume(name: string): VolumeView | undefined;
  storageNode(nodeName: string): StorageNodeView | undefined;
  storageNodes(): StorageNodeView[];
  /** LocalVolumeReplicas placed on a node (created or not yet). */
  replicasOnNode(nodeName: string): ReplicaView[];
  /** LocalVolumes whose spec.replicaNodes names the node (their replicas may not be in the cache yet). */
  volumesPlacedOn(nodeName: string): VolumeView[];
  /** Claims whose `volume.kubernetes.io/selected-node` annotation names this node. */
  claimsSelectedFor(nodeName: string): V1PersistentVolumeClaim[];
}
