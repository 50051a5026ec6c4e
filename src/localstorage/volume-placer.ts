/**
 * VolumePlacer: the volume controller of loam-controller (leader-elected). It watches LocalVolumes,
 * LocalVolumeReplicas, LocalStorageNodes, LocalDiskNodes, Nodes and PersistentVolumes (those of
 * lvm.loam.io hold a volume's deletion back, volume-protection.ts), and reconciles a volume when it,
 * one of its replicas or its PersistentVolume changes; Pending volumes are re-evaluated whenever a LocalStorageNode
 * changes. It also runs the node deletion policy (OrphanCollector). One instance per leadership
 * term: `start()` fills the caches and starts the workers, `stop()` ends them.
 */
import type { KubernetesObject, V1Node, V1PersistentVolume } from '@kubernetes/client-node';
import { labels, loamResources, type LocalDiskNode, type LocalStorageNode, type LocalVolume, type LocalVolumeReplica } from '../api/index.js';
import { componentLogger, type Logger } from '../common/logger.js';
import { Controller, coreResources, enqueueOnChange, EventRecorder, fieldIndex, informerFor, labelIndex, objectKey, OwnWrites, type Informer, type InformerOptions, type KubeClients, type SharedInformers } from '../kube/index.js';
import { OrphanCollector } from './orphans-collector.js';
import { PlacementLedger } from './placement-ledger.js';
import { VolumeEvents } from './volume-events.js';
import { persistentVolumeHandle } from './volume-protection.js';
import { VolumeReconciler, type VolumeCaches } from './volume-reconciler.js';

export interface VolumePlacerOptions {
  clients: KubeClients;
  /** This controller instance, in events (`reportingInstance`). */
  identity: string;
  /** Volumes reconciled in parallel (default 4); placement decisions are serialised regardless. */
  workers?: number;
  /** How long a Node must be gone (and its agents silent) before its objects are deleted (default 10 min). */
  nodeGraceMs?: number;
  /** Relist period of the informers in ms (default 5 min). */
  resyncMs?: number;
  /** The process's shared informers (the CSI controller service watches volumes, replicas and storage nodes too). */
  informers?: SharedInformers;
  /** Heartbeat age after which a node gets no new volumes (default node-liveness.ts defaultStaleAfterMs). */
  staleAfterMs?: number;
  logger?: Logger;
}

const byNode = 'node';
const byVolume = 'volume';
const byPlacedNode = 'placedNode';
const pending = 'pending';
const byPending = 'pending';
const byHandle = 'volumeHandle';

export class VolumePlacer {
  private readonly volumes: Informer<LocalVolume>;
  private readonly replicas: Informer<LocalVolumeReplica>;
  private readonly storageNodes: Informer<LocalStorageNode>;
  private readonly diskNodes: Informer<LocalDiskNode>;
  private readonly nodes: Informer<V1Node>;
  private readonly persistentVolumes: Informer<V1PersistentVolume>;
  private readonly controller: Controller;
  private readonly orphans: OrphanCollector;
  private readonly ledger = new PlacementLedger();
  /** Our newest write of each volume, read instead of the cache until the cache has caught up. */
  private readonly written: OwnWrites<LocalVolume>;
  private readonly log: Logger;
  private unhook: Array<() => void> = [];

  constructor(opts: VolumePlacerOptions) {
    this.log = opts.logger ?? componentLogger('volume-placer');
    this.written = new OwnWrites<LocalVolume>({ cached: (name) => this.volumes.cache.get(name) });
    const rest = opts.clients.rest;
    const common = { resyncMs: opts.resyncMs, logger: this.log };
    const informer = <T extends KubernetesObject>(o: InformerOptions<T>): Informer<T> => informerFor<T>(rest, o, opts.informers);
    this.volumes = informer<LocalVolume>({
      resource: loamResources.localVolumes,
      indexers: {
        [byPlacedNode]: (v) => v.spec?.replicaNodes ?? [],
        [byPending]: fieldIndex((v) => (v.spec?.replicaNodes?.length ? undefined : pending)),
      },
      ...common,
    });
    this.replicas = informer<LocalVolumeReplica>({
      resource: loamResources.localVolumeReplicas,
      indexers: { [byNode]: fieldIndex((r) => r.spec?.nodeName), [byVolume]: labelIndex(labels.volume) },
      ...common,
    });
    this.storageNodes = informer<LocalStorageNode>({ resource: loamResources.localStorageNodes, ...common });
    this.diskNodes = informer<LocalDiskNode>({ resource: loamResources.localDiskNodes, ...common });
    this.nodes = informer<V1Node>({ resource: coreResources.nodes, ...common });
    this.persistentVolumes = informer<V1PersistentVolume>({ resource: coreResources.persistentVolumes, indexers: { [byHandle]: fieldIndex(persistentVolumeHandle) }, ...common });
    const events = new VolumeEvents(new EventRecorder(opts.clients, { reportingController: 'loam.io/volume-placer', reportingInstance: opts.identity }));
    this.orphans = new OrphanCollector({
      clients: opts.clients,
      nodes: this.nodes,
      storageNodes: this.storageNodes,
      diskNodes: this.diskNodes,
      replicasOnNode: (node) => this.replicas.cache.byIndex(byNode, node),
      allReplicaNodes: () => new Set(this.replicas.cache.list().map((r) => r.spec?.nodeName).filter((n): n is string => !!n)),
      volume: (name) => this.volume(name),
      events,
      graceMs: opts.nodeGraceMs ?? 10 * 60_000,
      onChange: (nodes) => nodes.forEach((n) => this.enqueueVolumesOn(n)),
      log: this.log.child({ part: 'orphans' }),
    });
    const caches: VolumeCaches = {
      volume: (name) => this.volume(name),
      replicasOf: (name) => this.replicas.cache.byIndex(byVolume, name),
      storageNodes: () => this.storageNodes.cache.list(),
      storageNode: (node) => this.storageNodes.cache.get(node),
      replicasOnNode: (node) => this.replicas.cache.byIndex(byNode, node),
      volumesPlacedOn: (node) => this.volumesPlacedOn(node),
      goneNodes: () => this.orphans.goneNodes(),
      persistentVolumesOf: (name) => this.persistentVolumes.cache.byIndex(byHandle, name),
      wrote: (v) => this.written.wrote(v),
      staleAfterMs: opts.staleAfterMs,
    };
    const reconciler = new VolumeReconciler({ clients: opts.clients, caches, events, ledger: this.ledger, log: this.log });
    this.controller = new Controller({
      name: 'volume-placer',
      workers: opts.workers ?? 4,
      logger: this.log,
      reconcile: (key, signal) => reconciler.reconcile(key, signal),
    });
  }

  /** Fills every cache, then starts reconciling; every volume is reconciled once at start. */
  async start(signal?: AbortSignal): Promise<void> {
    const queue = this.controller.queue;
    const informers = this.informers();
    this.unhook = [
      this.volumes.on('update', (v) => this.written.seen(v)),
      this.volumes.on('delete', (v) => this.written.deleted(v)),
      enqueueOnChange(this.volumes, queue),
      enqueueOnChange(this.replicas, queue, (r) => {
        this.ledger.settle(r.metadata.name!, r.spec?.capacityBytes ?? 0);
        return [r.metadata.labels?.[labels.volume] ?? r.spec?.volumeName].filter((n): n is string => !!n);
      }),
      // Room appeared (or a node became Ready): every waiting volume tries again.
      enqueueOnChange(this.storageNodes, queue, () => this.volumes.cache.byIndex(byPending, pending).map((v) => objectKey(v))),
      this.nodes.on('add', (n) => this.enqueueVolumesOn(n.metadata!.name!)),
      // A PV released (or gone) lets a held deletion go on; one bound makes the volume hold its data.
      enqueueOnChange(this.persistentVolumes, queue, (pv) => [persistentVolumeHandle(pv)].filter((n): n is string => !!n)),
    ];
    for (const informer of informers) informer.start();
    for (;;) {
      try {
        await Promise.all(informers.map((i) => i.waitForSync(60_000)));
        break;
      } catch (err) {
        if (signal?.aborted) return;
        this.log.warn('caches not filled yet (is the API server reachable, are the CRDs installed?); still waiting', { error: (err as Error).message });
      }
    }
    if (signal?.aborted) return;
    // Pass once before the first reconcile: a volume on a node already gone must not be reported Ready.
    await this.orphans.pass().catch((err: unknown) => this.log.warn('first orphan pass failed', { error: (err as Error).message }));
    for (const volume of this.volumes.cache.list()) queue.add(objectKey(volume));
    this.controller.start();
    this.orphans.start();
    this.log.info('volume placer started', { volumes: this.volumes.cache.size, replicas: this.replicas.cache.size, storageNodes: this.storageNodes.cache.size });
  }

  /** Stops the workers (aborting in-flight reconciles when `abort`, as a leader that lost its lease must), the collector and the informers. */
  async stop(opts: { abort?: boolean } = {}): Promise<void> {
    for (const off of this.unhook) off();
    this.unhook = [];
    await this.orphans.stop();
    await this.controller.stop({ abort: opts.abort });
    await Promise.all(this.informers().map((i) => i.stop()));
    this.log.info('volume placer stopped');
  }

  private informers(): Array<Informer<LocalVolume> | Informer<LocalVolumeReplica> | Informer<LocalStorageNode> | Informer<LocalDiskNode> | Informer<V1Node> | Informer<V1PersistentVolume>> {
    return [this.volumes, this.replicas, this.storageNodes, this.diskNodes, this.nodes, this.persistentVolumes];
  }

  private volume(name: string): LocalVolume | undefined {
    return this.written.get(name);
  }

  /** Volumes naming the node in spec.replicaNodes, with our own newer writes in place of cached copies. */
  private volumesPlacedOn(node: string): LocalVolume[] {
    const out = new Map(this.volumes.cache.byIndex(byPlacedNode, node).map((v) => [v.metadata.name!, v]));
    for (const name of this.written.names()) {
      const v = this.written.get(name)!;
      if (v.spec.replicaNodes?.includes(node)) out.set(name, v);
      else out.delete(name);
    }
    return [...out.values()];
  }

  private enqueueVolumesOn(node: string): void {
    for (const r of this.replicas.cache.byIndex(byNode, node)) this.controller.queue.add(r.spec.volumeName);
  }
}
