/**
 * Which device holds a volume on this node: the LocalVolumeReplica of the volume on this node, and
 * the LV its spec names (node-device.ts: derived from the spec, checked with LVM's own tags — never
 * status.devicePath). Reads go to an informer cache of this node's replicas; a miss falls back to
 * one direct read, because the replica may have been made a moment ago and the watch not have
 * brought it yet (read-after-create). The informer starts without waiting for the API server
 * (loam-node serves its socket at once); a call that needs a replica before the first fill waits
 * for it within the call's deadline, then answers UNAVAILABLE.
 */
import { loamResources, localVolumeReplicaName, nodeLabelSelector, type LocalVolumeReplica } from '../api/index.js';
import { informerFor, isNotFound, resourcePath, type Informer, type KubeClients, type SharedInformers } from '../kube/index.js';
import type { Logger } from '../common/logger.js';
import type { Lvm } from '../localstorage/lvm.js';
import { isPossibleVolumeId } from './controller-requests.js';
import { notFound, unavailable } from './errors.js';
import { lvRefusal, replicaLvOf, servesMounts, type ReplicaLv } from './node-device.js';

export interface VolumeDevice extends ReplicaLv {
  replica: LocalVolumeReplica;
}

/** What a lookup may spend waiting for the cache's first fill: until `deadline` (ms since the epoch; the constructor bounds it too). */
export interface LookupOptions {
  signal?: AbortSignal;
  deadline?: number;
}

/** Answer a little before the CO's deadline, so it gets our message rather than its own timeout. */
const deadlineMarginMs = 1_000;

export class ReplicaDevices {
  private readonly informer: Informer<LocalVolumeReplica>;

  constructor(private readonly clients: KubeClients, private readonly nodeName: string, logger: Logger, private readonly maxSyncWaitMs = 60_000, informers?: SharedInformers) {
    // Shared with the replica reconciler of the same process, when it runs there.
    const replicas = { resource: loamResources.localVolumeReplicas, labelSelector: nodeLabelSelector(nodeName), logger };
    this.informer = informerFor<LocalVolumeReplica>(clients.rest, replicas, informers);
  }

  /** Starts listing and watching; returns at once (see the module comment). */
  async start(): Promise<void> {
    this.informer.start();
  }

  /** Waits for the cache's first fill within the call's deadline; UNAVAILABLE (retried by the CO) when it does not come. */
  private async synced(volumeId: string, o: LookupOptions): Promise<void> {
    if (this.informer.hasSynced()) return;
    const left = (o.deadline ?? Infinity) - Date.now() - deadlineMarginMs;
    try {
      await this.informer.waitForSync(Math.max(0, Math.min(this.maxSyncWaitMs, left)));
    } catch {
      throw unavailable(`loam-node on ${this.nodeName} has not loaded its LocalVolumeReplicas from the API server yet, so it cannot find volume ${volumeId}; retry`);
    }
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
   * The device of `volumeId` on this node as the replica's spec names it (not yet checked with LVM:
   * enough to read statistics). NOT_FOUND when this node holds no replica of it (or it is being
   * deleted); FAILED_PRECONDITION when the spec names no Loam LV of this volume.
   */
  async deviceOf(volumeId: string, o: LookupOptions = {}): Promise<VolumeDevice> {
    // An id that cannot name a volume (a path, a 100 kB string) names no replica: no need to ask anyone.
    if (!isPossibleVolumeId(volumeId)) throw notFound(`volume ${JSON.stringify(volumeId.length > 100 ? `${volumeId.slice(0, 100)}…` : volumeId)} has no replica on node ${this.nodeName}: it is not a volume id`);
    await this.synced(volumeId, o);
    const replica = await this.replicaOf(volumeId, o.signal);
    if (!replica || !servesMounts(replica)) {
      throw notFound(`volume ${volumeId} has no replica on node ${this.nodeName}${replica ? ' (its LV is being removed)' : ''}`);
    }
    return { replica, ...replicaLvOf(replica, volumeId, this.nodeName) };
  }

  /**
   * The device of `volumeId`, once LVM reports its LV tagged as this replica's: what may be
   * formatted, mounted, grown or bound into a pod. UNAVAILABLE while the LV is missing or inactive.
   */
  async verifiedDeviceOf(volumeId: string, lvm: Pick<Lvm, 'findLv'>, o: LookupOptions = {}): Promise<VolumeDevice> {
    const device = await this.deviceOf(volumeId, o);
    const lv = await lvm.findLv(device.vgName, device.lvName, { signal: o.signal, timeoutMs: 30_000 });
    const refusal = lvRefusal(lv, device.replica, device);
    if (refusal) throw refusal;
    return device;
  }
}
