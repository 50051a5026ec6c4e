/**
 * The VolumePlacer's writes to the API server. Decisions are compare-and-swaps: the finalizer and
 * spec.replicaNodes of a volume are written under the resourceVersion the decision was made on, so
 * a 409 means "someone changed it: re-read and decide again", never a blind retry. Creating a
 * replica that exists, and deleting one that is gone, are successes (every step may be repeated
 * after a crash).
 */
import { apiVersion, finalizer, labels, loamResources, localVolumeReplicaName, nodeLabelValue, type LocalStorageNode, type LocalVolume, type LocalVolumeReplica } from '../api/index.js';
import { isAlreadyExists, isNotFound, mergePatch, patchStatus, resourcePath, type KubeClients, type ResourceRef } from '../kube/index.js';
import { compareAndSwap, type WriteOutcome } from '../kube/compare-and-swap.js';

export const fieldManager = 'loam-controller';

export type { WriteOutcome };

type Clients = Pick<KubeClients, 'rest'>;

/** Adds or removes `loam.io/protect` on any Loam object, under its resourceVersion (the whole list is written). */
export function setFinalizer<T extends LocalVolume | LocalVolumeReplica | LocalStorageNode | { metadata: LocalVolume['metadata'] }>(
  clients: Clients, ref: ResourceRef, obj: T, present: boolean,
): Promise<WriteOutcome<T>> {
  const others = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  const finalizers = present ? [...others, finalizer] : others;
  return compareAndSwap(() => mergePatch<T & { apiVersion?: string; kind?: string }>(clients, ref, { name: obj.metadata.name! }, { metadata: { finalizers } }, { resourceVersion: obj.metadata.resourceVersion, fieldManager }));
}

/**
 * Records the placement decision: spec.replicaNodes, with the finalizer in the same write (so no
 * volume ever has replicas without it), only if the volume is still the one decided on.
 */
export function setReplicaNodes(clients: Clients, volume: LocalVolume, nodes: string[]): Promise<WriteOutcome<LocalVolume>> {
  const finalizers = [...(volume.metadata.finalizers ?? []).filter((f) => f !== finalizer), finalizer];
  const patch = { metadata: { finalizers }, spec: { replicaNodes: nodes } };
  return compareAndSwap(() => mergePatch<LocalVolume>(clients, loamResources.localVolumes, { name: volume.metadata.name! }, patch, { resourceVersion: volume.metadata.resourceVersion, fieldManager }));
}

/** The replica object of `volume` on `nodeName`, as placement creates it. */
export function replicaFor(volume: LocalVolume, nodeName: string, poolName: string): LocalVolumeReplica {
  return {
    apiVersion, kind: 'LocalVolumeReplica',
    metadata: {
      name: localVolumeReplicaName(volume.metadata.name!, nodeName),
      labels: { [labels.node]: nodeLabelValue(nodeName), [labels.volume]: volume.metadata.name!, [labels.poolClass]: volume.spec.poolClass },
      finalizers: [finalizer],
    },
    spec: { volumeName: volume.metadata.name!, nodeName, poolName, capacityBytes: volume.spec.capacityBytes },
  };
}

/** Creates the replica; one that already exists is fine (a retried or repeated reconcile). */
export async function createReplica(clients: Clients, replica: LocalVolumeReplica): Promise<'created' | 'existed'> {
  try {
    await clients.rest.request('POST', resourcePath(loamResources.localVolumeReplicas), { body: replica, query: { fieldManager, fieldValidation: 'Strict' } });
    return 'created';
  } catch (err) {
    if (isAlreadyExists(err)) return 'existed';
    throw new Error(`cannot create LocalVolumeReplica ${replica.metadata.name}`, { cause: err });
  }
}

/** Raises a replica's spec.capacityBytes (the node agent runs lvextend); the API refuses a shrink. */
export async function growReplica(clients: Clients, name: string, capacityBytes: number): Promise<boolean> {
  try {
    await mergePatch(clients, loamResources.localVolumeReplicas, { name }, { spec: { capacityBytes } }, { fieldManager });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Deletes any Loam object by name; one already gone is fine. */
export async function deleteObject(clients: Clients, ref: ResourceRef, name: string): Promise<void> {
  try {
    await clients.rest.request('DELETE', resourcePath(ref, undefined, name));
  } catch (err) {
    if (!isNotFound(err)) throw new Error(`cannot delete ${ref.kind} ${name}`, { cause: err });
  }
}

/** The volume's replicas straight from the server: before a volume lets go, a replica created a moment ago must not be missed. */
export async function listReplicasOf(clients: Clients, volumeName: string): Promise<LocalVolumeReplica[]> {
  const list = await clients.rest.request<{ items?: LocalVolumeReplica[] }>('GET', resourcePath(loamResources.localVolumeReplicas), { query: { labelSelector: `${labels.volume}=${volumeName}` } });
  return list.items ?? [];
}

/** Reads one volume from the server; undefined when it does not exist. */
export async function readVolume(clients: Clients, name: string): Promise<LocalVolume | undefined> {
  try {
    return await clients.rest.request<LocalVolume>('GET', resourcePath(loamResources.localVolumes, undefined, name));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw new Error(`cannot read LocalVolume ${name}`, { cause: err });
  }
}

/** Merge-patches the volume's status and returns the volume; a volume deleted meanwhile is not an error. */
export async function writeVolumeStatus(clients: Pick<KubeClients, 'rest' | 'customObjects'>, name: string, status: Record<string, unknown>): Promise<LocalVolume | undefined> {
  try {
    return await patchStatus<LocalVolume>(clients, loamResources.localVolumes, { name }, status, { fieldManager });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return undefined;
  }
}
