/**
 * A node whose agent stopped reporting gets no new volumes, from any of the three places that
 * decide or advertise room: placement, the scheduler extender, and CSI GetCapacity.
 */
import assert from 'node:assert/strict';
import type { LocalStorageNode } from '../../../src/api/index.js';
import { capacityOf } from '../../../src/csi/controller-capacity.js';
import { acceptsNewVolumes, defaultStaleAfterMs, formatDuration } from '../../../src/localstorage/node-liveness.js';
import { choosePlacement } from '../../../src/localstorage/placement.js';
import { PlacementLedger } from '../../../src/localstorage/placement-ledger.js';
import { placementCandidates, poolCandidate, poolRoom, type RoomSources } from '../../../src/localstorage/placement-room.js';
import { filterNodes } from '../../../src/scheduler-plugin/filter.js';
import { Reservations } from '../../../src/scheduler-plugin/reservations.js';
import type { StorageNodeView } from '../../../src/scheduler-plugin/view.js';
import { Gi, MapView, podWith } from '../scheduler-plugin/fixture.js';

/** The clock every consumer judges by, fixed so that ages are exact. */
const now = Date.parse('2026-01-01T12:00:00Z');

function storageNode(name: string, heartbeatAgoMs: number | undefined): LocalStorageNode {
  return {
    apiVersion: 'loam.io/v1alpha1', kind: 'LocalStorageNode', metadata: { name }, spec: { nodeName: name },
    status: {
      state: 'Ready',
      ...(heartbeatAgoMs !== undefined ? { lastHeartbeatTime: new Date(now - heartbeatAgoMs).toISOString().replace(/\.\d+Z$/, 'Z') } : {}),
      pools: [{ name: 'loam-ssd', vgName: 'loam-ssd', mediaClass: 'SSD', totalBytes: 100 * Gi, freeBytes: 100 * Gi }],
    },
  };
}

const fresh = storageNode('fresh', 5_000);
const stale = storageNode('stale', 5 * 60_000);
const silent = storageNode('silent', undefined);
const all = [fresh, stale, silent];

const sources: RoomSources & { storageNodeNames(): string[] } = {
  storageNode: (n) => all.find((l) => l.metadata.name === n),
  storageNodeNames: () => all.map((l) => l.metadata.name!),
  replicasOnNode: () => [],
  volumesPlacedOn: () => [],
  now: () => now,
};

describe('a node whose agent stopped reporting gets no new volumes', () => {
  it('placement: no candidate pool on a node with a stale or missing heartbeat', () => {
    assert.equal(poolCandidate('fresh', 'SSD', sources, new PlacementLedger())?.availableBytes, 100 * Gi);
    assert.equal(poolCandidate('stale', 'SSD', sources, new PlacementLedger()), undefined);
    assert.equal(poolCandidate('silent', 'SSD', sources, new PlacementLedger()), undefined);
  });

  it('the extender: turns the node away and says why', () => {
    const view = new MapView().addClass('loam-ssd', 'SSD');
    view.now = () => now;
    for (const l of all) view.nodes.set(l.metadata.name!, l as StorageNodeView);
    view.addClaim('default', 'data', 'loam-ssd', '1Gi');
    const r = filterNodes(podWith('p', ['data']), ['fresh', 'stale', 'silent'], view, new Reservations());
    assert.deepEqual(r.NodeNames, ['fresh']);
    assert.match(r.FailedNodes.stale ?? '', /^loam: Loam's node agent last reported 5m0s ago \(a node is stale after 1m30s without a heartbeat\); no new volumes go to this node until it reports again$/);
    assert.equal(r.FailedNodes.silent, 'loam: Loam\'s node agent has never reported a heartbeat on this node; no new volumes go to it until it does');
  });

  it('CSI GetCapacity: advertises no room on such a node', () => {
    assert.equal(capacityOf({ nodeName: 'fresh', poolClass: 'SSD' }, sources).availableBytes, 100 * Gi);
    assert.equal(capacityOf({ nodeName: 'stale', poolClass: 'SSD' }, sources).availableBytes, 0);
    assert.equal(capacityOf({ poolClass: 'SSD' }, sources).availableBytes, 100 * Gi, 'the total counts only the live node');
  });
});

describe('acceptsNewVolumes: facts in, verdict out', () => {
  const at = (agoMs: number): string => new Date(now - agoMs).toISOString();
  const cases: Array<{ name: string; lsn: Parameters<typeof acceptsNewVolumes>[0]; ok: boolean; reason?: RegExp }> = [
    { name: 'a fresh heartbeat', lsn: { status: { state: 'Ready', lastHeartbeatTime: at(10_000) } }, ok: true },
    { name: 'exactly at the threshold', lsn: { status: { state: 'Ready', lastHeartbeatTime: at(defaultStaleAfterMs) } }, ok: true },
    { name: 'one second past the threshold', lsn: { status: { state: 'Ready', lastHeartbeatTime: at(defaultStaleAfterMs + 1000) } }, ok: false, reason: /last reported 1m31s ago/ },
    { name: 'a heartbeat from the future (clock skew)', lsn: { status: { state: 'Ready', lastHeartbeatTime: at(-20_000) } }, ok: true },
    { name: 'no heartbeat ever', lsn: { status: { state: 'Ready' } }, ok: false, reason: /never reported a heartbeat/ },
    { name: 'an unreadable heartbeat', lsn: { status: { state: 'Ready', lastHeartbeatTime: 'yesterday' } }, ok: false, reason: /never reported a heartbeat/ },
    { name: 'NotReady with a fresh heartbeat', lsn: { status: { state: 'NotReady', lastHeartbeatTime: at(0) } }, ok: false, reason: /^Loam storage on this node is NotReady$/ },
    { name: 'no status yet', lsn: {}, ok: false, reason: /is not reporting/ },
    { name: 'no LocalStorageNode', lsn: undefined, ok: false, reason: /no LocalStorageNode/ },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.ok ? 'accepts' : 'refuses'}`, () => {
      const verdict = acceptsNewVolumes(c.lsn, now, defaultStaleAfterMs);
      assert.equal(verdict.ok, c.ok);
      if (!verdict.ok) assert.match(verdict.reason, c.reason!);
    });
  }

  it('honours a configured threshold', () => {
    const lsn = { status: { state: 'Ready', lastHeartbeatTime: at(60_000) } };
    assert.equal(acceptsNewVolumes(lsn, now, 30_000).ok, false);
    assert.equal(acceptsNewVolumes(lsn, now, 120_000).ok, true);
  });

  it('prints durations as Go does', () => {
    assert.deepEqual([0, 999, 90_000, 300_000, 7_260_000].map(formatDuration), ['0s', '0s', '1m30s', '5m0s', '2h1m0s']);
  });
});

describe('placement names the nodes it turned away for their liveness', () => {
  const request = { volumeName: 'pvc-1', poolClass: 'SSD' as const, capacityBytes: Gi, replicaCount: 1 };

  it('places on a live node and never on the stale one, even when the stale one is preferred and larger', () => {
    const { candidates, refused } = placementCandidates(['stale', 'fresh', 'silent'], 'SSD', sources, new PlacementLedger());
    assert.deepEqual(candidates.map((c) => c.nodeName), ['fresh']);
    assert.deepEqual(refused.map((r) => r.nodeName), ['stale', 'silent']);
    assert.deepEqual(choosePlacement({ ...request, preferredNodes: ['stale'] }, candidates, refused), { ok: true, nodes: ['fresh'], poolName: 'loam-ssd' });
  });

  it('says why when only refused nodes have a pool of the class', () => {
    const { candidates, refused } = placementCandidates(['stale', 'silent'], 'SSD', sources, new PlacementLedger());
    const r = choosePlacement(request, candidates, refused);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.message, 'no node can take a new SSD volume now: '
      + 'stale: Loam\'s node agent last reported 5m0s ago (a node is stale after 1m30s without a heartbeat); no new volumes go to this node until it reports again; '
      + 'silent: Loam\'s node agent has never reported a heartbeat on this node; no new volumes go to it until it does');
    const required = choosePlacement({ ...request, requiredNodes: ['stale'] }, candidates, refused);
    assert.match(!required.ok ? required.message : '', /^none of the required nodes \(stale\) can take a new SSD volume now: stale: /);
  });

  it('adds them to a no-room message', () => {
    const { candidates, refused } = placementCandidates(['stale', 'fresh'], 'SSD', sources, new PlacementLedger());
    const r = choosePlacement({ ...request, capacityBytes: 500 * Gi }, candidates, refused);
    assert.match(!r.ok ? r.message : '', /^no SSD pool has room for 500Gi: the largest has 100Gi free \(fresh\); not considered: stale: Loam's node agent last reported 5m0s ago/);
  });

  it('growing a replica that exists does not need a fresh heartbeat', () => {
    const room = poolRoom('stale', 'SSD', sources, { forNewVolumes: false });
    assert.equal(room.ok && room.availableBytes, 100 * Gi);
  });
});
