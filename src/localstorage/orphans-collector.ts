/**
 * OrphanCollector: carries out the node deletion policy of orphans.ts on a timer. For a node gone
 * for good it deletes the node's LocalStorageNode, LocalDiskNode and LocalDisks (dropping their
 * finalizers: no agent will ever act on them), and lets go of the replicas no agent will finish
 * (see `abandonedReplicas`), with a Warning event each. Replicas of live volumes stay, and their
 * volumes are re-queued so they show Failed/Degraded naming the node. Nothing happens while the
 * Node object exists. Reads informer caches; only the rare clean-up of a gone node lists LocalDisks.
 */
import type { V1Node } from '@kubernetes/client-node';
import { finalizer, loamResources, type LocalDisk, type LocalDiskNode, type LocalStorageNode, type LocalVolume, type LocalVolumeReplica } from '../api/index.js';
import type { Logger } from '../common/logger.js';
import { isNotFound, resourcePath, type Informer, type KubeClients, type ResourceRef } from '../kube/index.js';
import { abandonedReplicas, isNodeGone, newestHeartbeat, NodeAbsence } from './orphans.js';
import type { VolumeEvents } from './volume-events.js';
import { deleteObject, setFinalizer } from './volume-writes.js';

export interface OrphanCollectorOptions {
  clients: Pick<KubeClients, 'rest'>;
  nodes: Informer<V1Node>;
  storageNodes: Informer<LocalStorageNode>;
  diskNodes: Informer<LocalDiskNode>;
  replicasOnNode: (nodeName: string) => LocalVolumeReplica[];
  allReplicaNodes: () => Iterable<string>;
  volume: (name: string) => LocalVolume | undefined;
  events: VolumeEvents;
  /** How long a Node must be missing, and its agents silent, before its objects go. */
  graceMs: number;
  /** Called with nodes that became gone or came back, so their volumes' status is recomputed. */
  onChange: (nodeNames: string[]) => void;
  log: Logger;
  now?: () => number;
}

export class OrphanCollector {
  private readonly absence = new NodeAbsence();
  private gone = new Set<string>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly now: () => number;

  constructor(private readonly opts: OrphanCollectorOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Nodes gone for good, as of the last pass. */
  goneNodes(): ReadonlySet<string> {
    return this.gone;
  }

  /** Checks every `periodMs` (default: a quarter of the grace period, between 1 s and 30 s). */
  start(periodMs = Math.min(30_000, Math.max(1000, this.opts.graceMs / 4))): void {
    const tick = (): void => {
      const run = this.pass().catch((err: unknown) => {
        this.opts.log.warn('orphan clean-up pass failed; next pass retries', { error: (err as Error).message });
      });
      this.running = run;
      void run.finally(() => {
        if (this.timer) this.timer = setTimeout(tick, periodMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass: decide which nodes are gone, clean up after them. */
  async pass(): Promise<void> {
    const now = this.now();
    const names = new Set<string>([
      ...this.opts.storageNodes.cache.list().map((n) => n.spec?.nodeName ?? n.metadata.name!),
      ...this.opts.diskNodes.cache.list().map((n) => n.spec?.nodeName ?? n.metadata.name!),
      ...this.opts.allReplicaNodes(),
    ]);
    this.absence.retain(names);
    const gone = new Set<string>();
    for (const name of names) {
      const missingSinceMs = this.absence.observe(name, this.opts.nodes.cache.has(name), now);
      const lastHeartbeatMs = newestHeartbeat(this.opts.storageNodes.cache.get(name)?.status?.lastHeartbeatTime, this.opts.diskNodes.cache.get(name)?.status?.lastHeartbeatTime);
      if (isNodeGone({ nodeExists: this.opts.nodes.cache.has(name), missingSinceMs, lastHeartbeatMs }, now, this.opts.graceMs)) gone.add(name);
    }
    const changed = [...gone].filter((n) => !this.gone.has(n)).concat([...this.gone].filter((n) => !gone.has(n)));
    this.gone = gone;
    for (const node of changed) this.opts.log.info(gone.has(node) ? 'node is gone from the cluster; cleaning up after it' : 'node is back', { node });
    if (changed.length > 0) this.opts.onChange(changed);
    for (const node of gone) await this.cleanUp(node);
  }

  private async cleanUp(node: string): Promise<void> {
    for (const replica of abandonedReplicas(this.opts.replicasOnNode(node), this.opts.volume)) await this.abandon(replica, node);
    if (this.opts.storageNodes.cache.has(node)) await this.remove(loamResources.localStorageNodes, node);
    if (this.opts.diskNodes.cache.has(node)) await this.remove(loamResources.localDiskNodes, node);
    const disks = await this.opts.clients.rest.request<{ items?: LocalDisk[] }>('GET', resourcePath(loamResources.localDisks));
    for (const disk of (disks.items ?? []).filter((d) => d.spec?.nodeName === node)) await this.remove(loamResources.localDisks, disk.metadata.name!);
  }

  /** Deletes the replica (if not yet) and drops its finalizer: its LV left with the node. */
  private async abandon(replica: LocalVolumeReplica, node: string): Promise<void> {
    if (!replica.metadata.finalizers?.includes(finalizer) && replica.metadata.deletionTimestamp) return;
    this.opts.log.warn('removing a replica of a gone node without its LV', { replica: replica.metadata.name, node });
    const volume = this.opts.volume(replica.spec.volumeName);
    await this.opts.events.replicaAbandoned(volume ?? { ...replica, apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolumeReplica' }, replica, node);
    await this.remove(loamResources.localVolumeReplicas, replica.metadata.name!);
  }

  /** Deletes an object and drops our finalizer from it, read fresh so the finalizer write is a compare-and-swap. */
  private async remove(ref: ResourceRef, name: string): Promise<void> {
    await deleteObject(this.opts.clients, ref, name);
    this.opts.log.info('deleted an object of a gone node', { kind: ref.kind, name });
    let obj: { metadata: LocalVolume['metadata'] };
    try {
      obj = await this.opts.clients.rest.request('GET', resourcePath(ref, undefined, name));
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    // A conflict is left to the next pass, which reads the object again.
    if (obj.metadata.finalizers?.includes(finalizer)) await setFinalizer(this.opts.clients, ref, obj, false);
  }
}
