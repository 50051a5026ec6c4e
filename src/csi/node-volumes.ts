/**
 * Which device holds a volume on this node: the LocalVolumeReplica `<volume>-<node>` and its
 * status.devicePath, written by the node agent once the LV exists. Reads go to an informer cache of
 * this node's replicas; a miss falls back to one direct read, because the replica may have been
 * made a moment ago and the watch not have brought it yet (read-after-create).
 */
import { labels, loamResources, localVolumeReplicaName, type LocalVolumeReplica } from '../api/index.js';
import { Informer, isNotFound, resourcePath, type KubeClients } from '../kube/index.js';
import type { Logger } from '../common/logger.js';
import { notFound, unavailable } from './errors.js';

export interface VolumeDevice {
  replica: LocalVolumeReplica;
  devicePath: string;
}

export class ReplicaDevices {
  private readonly informer: Informer<LocalVolumeReplica>;

  constructor(private readonly clients: KubeClients, private readonly nodeName: string, logger: Logger) {
    this.informer = new Informer<LocalVolumeReplica>(clients.rest, {
      resource: loamResources.localVolumeReplicas,
      labelSelector: `${labels.node}=${nodeName}`,
      logger,
    });
  }

  async start(timeoutMs = 60_000): Promise<void> {
    this.informer.start();
    await this.informer.waitForSync(timeoutMs);
  }

  async stop(): Promise<void> {
    await this.informer.stop();
  }

  /** The replica of `volumeId` on this node, or undefined when this node holds none. */
  async replicaOf(volumeId: string, signal?: AbortSignal): Promise<LocalVolumeReplica | undefined> {
    const name = localVolumeReplicaName(volumeId, this.nodeName);
    const cached = this.informer.cache.get(name);
    if (cached) return cached;
    try {
      return await this.clients.rest.request<LocalVolumeReplica>('GET', resourcePath(loamResources.localVolumeReplicas, undefined, name), { signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
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
