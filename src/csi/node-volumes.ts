/**
 * Which device holds a volume on this node: the LocalVolumeReplica of the volume on this node and its
 * status.devicePath, written by the node agent once the LV exists. Reads go to an informer cache of
 * this node's replicas; a miss falls back to one direct read, because the replica may have been
 * made a moment ago and the watch not have brought it yet (read-after-create).
 */
import { loamResources, localVolumeReplicaName, nodeLabelSelector, type LocalVolumeReplica } from '../api/index.js';
import { informerFor, isNotFound, resourcePath, type Informer, type KubeClients, type SharedInformers } from '../kube/index.js';
import type { Logger } from '../common/logger.js';
import { notFound, unavailable } from './errors.js';

export interface VolumeDevice {
  replica: LocalVolumeReplica;
  devicePath: string;
}

export class ReplicaDevices {
  private readonly informer: Informer<LocalVolumeReplica>;

  constructor(private readonly clients: KubeClients, private readonly nodeName: string, logger: Logger, informers?: SharedInformers) {
    // Shared with the replica reconciler of the same process, when it runs there.
    const replicas = { resource: loamResources.localVolumeReplicas, labelSelector: nodeLabelSelector(nodeName), logger };
    this.informer = informerFor<LocalVolumeReplica>(clients.rest, replicas, informers);
  }

  async start(timeoutMs = 60_000): Promise<void> {
    this.informer.start();
    await this.informer.waitForSync(timeoutMs);
  }

  async stop(): Promise<void> {
    await this.informer.stop();
  }

  /**
   * The replica of `volumeId` on this node, or undefined when this node holds none. Found by its
   * spec, not its name: replicas made by earlier versions are named `<volume>-<node>`.
   */
  async replicaOf(volumeId: string, signal?: AbortSignal): Promise<LocalVolumeReplica | undefined> {
    const cached = this.informer.cache.list().find((r) => r.spec?.volumeName === volumeId && r.spec.nodeName === this.nodeName);
    if (cached) return cached;
    for (const name of [localVolumeReplicaName(volumeId, this.nodeName), `${volumeId}-${this.nodeName}`]) {
      try {
        const replica = await this.clients.rest.request<LocalVolumeReplica>('GET', resourcePath(loamResources.localVolumeReplicas, undefined, name), { signal });
        if (replica.spec?.volumeName === volumeId && replica.spec.nodeName === this.nodeName) return replica;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return undefined;
  }

  /**
   * The device of `volumeId` on this node. NOT_FOUND when this node holds no replica of it (or it
   * is being deleted); UNAVAILABLE while the node agent has not made the LV yet, so the CO retries.
   */
  async deviceOf(volumeId: string, signal?: AbortSignal): Promise<VolumeDevice> {
    const replica = await this.replicaOf(volumeId, signal);
    if (!replica || replica.metadata.deletionTimestamp) {
      throw notFound(`volume ${volumeId} has no replica on node ${this.nodeName}`);
    }
    const devicePath = replica.status?.devicePath;
    if (!devicePath) {
      const state = replica.status?.state ?? 'Creating';
      const why = replica.status?.message ? `: ${replica.status.message}` : '';
      throw unavailable(`the replica of volume ${volumeId} on node ${this.nodeName} has no device yet (state ${state}${why})`);
    }
    return { replica, devicePath };
  }
}
