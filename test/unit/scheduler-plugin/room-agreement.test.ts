/**
 * The extender and placement must count a pool's room the same way: a node the extender lets a pod
 * onto has to be a node placement then gives the volume to. Each case feeds the same cluster facts
 * to both (the extender through its ClusterView, placement through its RoomSources).
 */
import assert from 'node:assert/strict';
import { localVolumeReplicaName, type LocalStorageNode, type LocalVolume, type LocalVolumeReplica } from '../../../src/api/index.js';
import { PlacementLedger } from '../../../src/localstorage/placement-ledger.js';
import { poolCandidate, type RoomSources } from '../../../src/localstorage/placement-room.js';
import { filterNodes } from '../../../src/scheduler-plugin/filter.js';
import { Reservations } from '../../../src/scheduler-plugin/reservations.js';
import { poolRoom } from '../../../src/scheduler-plugin/room.js';
import type { ReplicaView, StorageNodeView, VolumeView } from '../../../src/scheduler-plugin/view.js';
import { Gi, MapView, podWith } from './fixture.js';

interface Facts {
  /** The VG: its size and what vgs reports free (less than size − Loam's LVs when it holds other LVs). */
  totalGi: number;
  freeGi: number;
  /** Loam replicas on the node: capacity, and allocated once the node agent made the LV. */
  replicas?: { volume: string; gi: number; allocatedGi?: number }[];
  /** Volumes placed on the node (spec.replicaNodes) whose replica is not in the cache yet. */
  placedVolumes?: { volume: string; gi: number }[];
}

const node = 'n1';

function storageNode(f: Facts): LocalStorageNode {
  return {
    apiVersion: 'loam.io/v1alpha1', kind: 'LocalStorageNode', metadata: { name: node }, spec: { nodeName: node },
    status: {
      state: 'Ready', lastHeartbeatTime: new Date().toISOString(),
      pools: [{ name: 'loam-ssd', vgName: 'loam-ssd', mediaClass: 'SSD', totalBytes: f.totalGi * Gi, freeBytes: f.freeGi * Gi }],
    },
  };
}

function replicas(f: Facts): LocalVolumeReplica[] {
  return (f.replicas ?? []).map((r) => ({
    apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolumeReplica', metadata: { name: localVolumeReplicaName(r.volume, node) },
    spec: { volumeName: r.volume, nodeName: node, poolName: 'loam-ssd', capacityBytes: r.gi * Gi },
    ...(r.allocatedGi !== undefined ? { status: { state: 'Ready', allocatedBytes: r.allocatedGi * Gi } } : {}),
  }));
}

function volumes(f: Facts): LocalVolume[] {
  const placed = (f.placedVolumes ?? []).map((v) => ({ name: v.volume, gi: v.gi }));
  const ofReplicas = (f.replicas ?? []).map((r) => ({ name: r.volume, gi: r.gi }));
  return [...placed, ...ofReplicas].map((v) => ({
    apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolume', metadata: { name: v.name },
    spec: { poolClass: 'SSD', capacityBytes: v.gi * Gi, replicaCount: 1, replicaNodes: [node] },
  }));
}

function extenderView(f: Facts): MapView {
  const view = new MapView().addClass('loam-ssd', 'SSD');
  view.nodes.set(node, storageNode(f) as StorageNodeView);
  view.replicas.push(...(replicas(f) as ReplicaView[]));
  for (const v of volumes(f)) view.volumes.set(v.metadata.name!, v as VolumeView);
  return view;
}

function placementSources(f: Facts): RoomSources {
  const lsn = storageNode(f);
  return {
    storageNode: (n) => (n === node ? lsn : undefined),
    replicasOnNode: (n) => (n === node ? replicas(f) : []),
    volumesPlacedOn: (n) => (n === node ? volumes(f) : []),
  };
}

const cases: Array<{ name: string; facts: Facts; availableGi: number }> = [
  { name: 'an empty pool', facts: { totalGi: 100, freeGi: 100 }, availableGi: 100 },
  { name: 'a replica whose LV exists (allocated)', facts: { totalGi: 100, freeGi: 90, replicas: [{ volume: 'v1', gi: 10, allocatedGi: 10 }] }, availableGi: 90 },
  { name: 'a stale report: the LV exists, vgs not re-read yet', facts: { totalGi: 100, freeGi: 100, replicas: [{ volume: 'v1', gi: 10, allocatedGi: 10 }] }, availableGi: 90 },
  // 50Gi of the VG is held by LVs that are not Loam's: the size bound (100 − 10) does not see them.
  { name: 'a VG holding non-Loam LVs and a replica whose LV is not made yet', facts: { totalGi: 100, freeGi: 50, replicas: [{ volume: 'v1', gi: 10 }] }, availableGi: 40 },
  { name: 'a volume placed on the node whose replica is not in the cache yet', facts: { totalGi: 100, freeGi: 100, placedVolumes: [{ volume: 'v2', gi: 30 }] }, availableGi: 70 },
  { name: 'a VG holding non-Loam LVs and a volume placed whose replica is not in the cache yet', facts: { totalGi: 100, freeGi: 60, placedVolumes: [{ volume: 'v2', gi: 30 }] }, availableGi: 30 },
];

describe('one source of truth for free room: the extender and placement agree', () => {
  for (const c of cases) {
    it(`${c.name}: both count ${c.availableGi}Gi`, () => {
      const placement = poolCandidate(node, 'SSD', placementSources(c.facts), new PlacementLedger());
      const extender = poolRoom(node, 'SSD', extenderView(c.facts), new Reservations());
      assert.equal(placement?.availableBytes, c.availableGi * Gi, 'placement');
      assert.ok(extender.ok, 'the extender found the pool');
      assert.equal(extender.freeBytes, c.availableGi * Gi, 'extender');
    });
  }

  it('the extender turns away a node whose VG is partly held by other LVs when placement would refuse the volume there', () => {
    const facts: Facts = { totalGi: 100, freeGi: 50, replicas: [{ volume: 'v1', gi: 10 }] };
    const view = extenderView(facts);
    view.addClaim('default', 'data', 'loam-ssd', '45Gi');
    const r = filterNodes(podWith('p', ['data']), [node], view, new Reservations());
    assert.equal(r.FailedNodes[node], 'loam: SSD pool has 40Gi free; the pod needs 45Gi for 1 claim');
    assert.equal((poolCandidate(node, 'SSD', placementSources(facts), new PlacementLedger())?.availableBytes ?? 0) >= 45 * Gi, false);
  });
});
