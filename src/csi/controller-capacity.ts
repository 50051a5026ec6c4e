/**
 * GetCapacity from informer caches (LocalStorageNodes, LocalVolumeReplicas, and the LocalVolumes of
 * the VolumeStore), counted exactly as placement counts room (src/localstorage/placement-room.ts):
 * a pool's free bytes minus what is promised to replicas whose LVs do not show in it yet. So
 * CSIStorageCapacity never advertises room the placer would then refuse.
 *
 * - A topology segment `topology.loam.io/node: N` → the room of N's pool of the class.
 * - No segment → the sum over all nodes (the spec's "total available capacity"); maximum_volume_size
 *   is always the largest single pool, since a volume (each replica) lives in one pool.
 * - No poolClass parameter → every class counts.
 * - A capability Loam cannot serve, an unknown node, a node without such a pool, or a node whose
 *   agent stopped reporting (a stale heartbeat: src/localstorage/node-liveness.ts) → 0.
 */
import { labels, loamResources, mediaClasses, type LocalStorageNode, type LocalVolumeReplica, type MediaClass } from '../api/index.js';
import type { Logger } from '../common/logger.js';
import { fieldIndex, informerFor, labelIndex, type Informer, type KubeClients, type SharedInformers } from '../kube/index.js';
import { PlacementLedger } from '../localstorage/placement-ledger.js';
import { poolCandidate, type RoomSources } from '../localstorage/placement-room.js';
import type { VolumeStore } from './controller-store.js';

const byNode = 'node';

export interface CapacityQuery {
  /** undefined: every node. */
  nodeName?: string;
  /** undefined: every class. */
  poolClass?: MediaClass;
}

export interface CapacityAnswer {
  availableBytes: number;
  /** The largest volume that fits one pool. */
  maximumVolumeBytes: number;
}

/** Room per pool from caches; no ledger of its own (the controller promises nothing: the placer does). */
export function capacityOf(query: CapacityQuery, sources: RoomSources & { storageNodeNames(): string[] }): CapacityAnswer {
  const nodes = query.nodeName !== undefined ? [query.nodeName] : sources.storageNodeNames();
  const classes = query.poolClass ? [query.poolClass] : [...mediaClasses];
  const noPromises = new PlacementLedger();
  let availableBytes = 0;
  let maximumVolumeBytes = 0;
  for (const node of nodes) {
    for (const poolClass of classes) {
      const room = Math.max(0, poolCandidate(node, poolClass, sources, noPromises)?.availableBytes ?? 0);
      availableBytes += room;
      maximumVolumeBytes = Math.max(maximumVolumeBytes, room);
    }
  }
  return { availableBytes, maximumVolumeBytes };
}

/** The informers capacity needs beside the VolumeStore's. */
export class CapacityView {
  readonly storageNodes: Informer<LocalStorageNode>;
  readonly replicas: Informer<LocalVolumeReplica>;

  /** `staleAfterMs`: heartbeat age after which a node counts no room (default node-liveness.ts defaultStaleAfterMs). */
  constructor(clients: KubeClients, private readonly volumes: VolumeStore, logger: Logger, resyncMs?: number, informers?: SharedInformers, private readonly staleAfterMs?: number) {
    this.storageNodes = informerFor<LocalStorageNode>(clients.rest, { resource: loamResources.localStorageNodes, resyncMs, logger }, informers);
    this.replicas = informerFor<LocalVolumeReplica>(clients.rest, {
      resource: loamResources.localVolumeReplicas,
      indexers: { [byNode]: fieldIndex((r) => r.spec?.nodeName), volume: labelIndex(labels.volume) },
      resyncMs,
      logger,
    }, informers);
  }

  capacity(query: CapacityQuery): CapacityAnswer {
    return capacityOf(query, {
      storageNode: (node) => this.storageNodes.cache.get(node),
      storageNodeNames: () => this.storageNodes.cache.list().map((n) => n.spec?.nodeName ?? n.metadata.name!),
      replicasOnNode: (node) => this.replicas.cache.byIndex(byNode, node),
      volumesPlacedOn: (node) => this.volumes.volumesPlacedOn(node),
      staleAfterMs: this.staleAfterMs,
    });
  }
}
