/**
 * The ClusterView backed by informer caches: the extender's request path never lists or gets from
 * the API server. Starts one informer per kind it reads and reports when all have synced.
 */
import type { KubernetesObject, V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { loamResources } from '../api/resources.js';
import { coreResources, fieldIndex, Informer, type RestClient } from '../kube/index.js';
import { RoomMemo } from '../localstorage/placement-room.js';
import { selectedNodeAnnotation, type ClusterView, type ReplicaView, type StorageNodeView, type VolumeView } from './view.js';

type K<T> = T & KubernetesObject;

export class InformerView implements ClusterView {
  readonly claims: Informer<V1PersistentVolumeClaim>;
  readonly classes: Informer<V1StorageClass>;
  readonly pvs: Informer<V1PersistentVolume>;
  readonly volumes: Informer<K<VolumeView>>;
  readonly nodes: Informer<K<StorageNodeView>>;
  readonly replicas: Informer<K<ReplicaView>>;
  /** Heartbeat age after which a node gets no new volumes (node-liveness.ts); undefined: the default. */
  readonly staleAfterMs?: number;
  /** Each node's counted room, forgotten when a replica on it or a volume placed on it changes. */
  readonly roomMemo = new RoomMemo();

  constructor(rest: RestClient, opts: { staleAfterMs?: number } = {}) {
    this.staleAfterMs = opts.staleAfterMs;
    this.claims = new Informer(rest, {
      resource: coreResources.persistentVolumeClaims,
      indexers: { selectedNode: fieldIndex((c: V1PersistentVolumeClaim) => c.metadata?.annotations?.[selectedNodeAnnotation]) },
    });
    this.classes = new Informer(rest, { resource: coreResources.storageClasses });
    this.pvs = new Informer(rest, { resource: coreResources.persistentVolumes });
    this.volumes = new Informer(rest, { resource: loamResources.localVolumes, indexers: { placedNode: (v: VolumeView) => v.spec?.replicaNodes ?? [] } });
    this.nodes = new Informer(rest, { resource: loamResources.localStorageNodes, indexers: { node: fieldIndex((n: StorageNodeView) => n.spec?.nodeName ?? n.metadata?.name) } });
    this.replicas = new Informer(rest, { resource: loamResources.localVolumeReplicas, indexers: { node: fieldIndex((r: ReplicaView) => r.spec?.nodeName) } });
    this.forgetRoomOnChange();
  }

  /** Every change that can move a node's room makes the memo count that node again. */
  private forgetRoomOnChange(): void {
    const memo = this.roomMemo;
    const watch = <T extends KubernetesObject>(informer: Informer<T>, nodesOf: (o: T) => Array<string | undefined>): void => {
      const forget = (o: T): void => nodesOf(o).forEach((n) => memo.forget(n));
      informer.on('add', forget);
      informer.on('update', (o, old) => { forget(o); forget(old); });
      informer.on('delete', forget);
    };
    watch(this.replicas, (r) => [r.spec?.nodeName]);
    watch(this.volumes, (v) => v.spec?.replicaNodes ?? []);
    watch(this.nodes, (n) => [n.spec?.nodeName ?? n.metadata?.name]);
  }

  private all(): Informer<KubernetesObject>[] {
    return [this.claims, this.classes, this.pvs, this.volumes, this.nodes, this.replicas] as Informer<KubernetesObject>[];
  }

  start(): void {
    for (const i of this.all()) i.start();
  }

  async waitForSync(timeoutMs?: number): Promise<void> {
    await Promise.all(this.all().map((i) => i.waitForSync(timeoutMs)));
  }

  hasSynced(): boolean {
    return this.all().every((i) => i.hasSynced());
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((i) => i.stop()));
  }

  claim(namespace: string, name: string): V1PersistentVolumeClaim | undefined {
    return this.claims.cache.get(`${namespace}/${name}`);
  }

  storageClass(name: string): V1StorageClass | undefined {
    return this.classes.cache.get(name);
  }

  persistentVolume(name: string): V1PersistentVolume | undefined {
    return this.pvs.cache.get(name);
  }

  volume(name: string): VolumeView | undefined {
    return this.volumes.cache.get(name);
  }

  storageNode(nodeName: string): StorageNodeView | undefined {
    return this.nodes.cache.byIndex('node', nodeName)[0];
  }

  storageNodes(): StorageNodeView[] {
    return this.nodes.cache.list();
  }

  replicasOnNode(nodeName: string): ReplicaView[] {
    return this.replicas.cache.byIndex('node', nodeName);
  }

  volumesPlacedOn(nodeName: string): VolumeView[] {
    return this.volumes.cache.byIndex('placedNode', nodeName);
  }

  claimsSelectedFor(nodeName: string): V1PersistentVolumeClaim[] {
    return this.claims.cache.byIndex('selectedNode', nodeName);
  }
}
