import assert from 'node:assert/strict';
import type { LocalStorageNode, LocalVolume, LocalVolumeReplica } from '../../../src/api/index.js';
import { choosePlacement, type PlacementRequest, type PoolCandidate } from '../../../src/localstorage/placement.js';
import { PlacementLedger } from '../../../src/localstorage/placement-ledger.js';
import { poolCandidate, poolRoom, RoomMemo, type RoomSources } from '../../../src/localstorage/placement-room.js';

const Gi = 2 ** 30;
const request = (over: Partial<PlacementRequest> = {}): PlacementRequest => ({ volumeName: 'pvc-1', poolClass: 'SSD', capacityBytes: 10 * Gi, replicaCount: 1, ...over });
const pool = (nodeName: string, gi: number): PoolCandidate => ({ nodeName, poolName: 'loam-ssd', availableBytes: gi * Gi });

describe('placement: choosing replica nodes', () => {
  it('takes the node with the most available bytes when nothing is preferred', () => {
    assert.deepEqual(choosePlacement(request(), [pool('a', 20), pool('b', 50), pool('c', 30)]), { ok: true, nodes: ['b'], poolName: 'loam-ssd' });
  });

  it('breaks a tie by node name, so the choice is deterministic', () => {
    assert.deepEqual(choosePlacement(request(), [pool('c', 20), pool('a', 20), pool('b', 20)]), { ok: true, nodes: ['a'], poolName: 'loam-ssd' });
  });

  it('always takes the first preferred node (the scheduler\'s pick) when it has room, even if another has more', () => {
    const r = choosePlacement(request({ preferredNodes: ['a', 'b'] }), [pool('a', 11), pool('b', 50), pool('c', 90)]);
    assert.deepEqual(r, { ok: true, nodes: ['a'], poolName: 'loam-ssd' });
  });

  it('falls to the next preferred node, then to the most available, when preferred nodes are full', () => {
    assert.deepEqual(choosePlacement(request({ preferredNodes: ['a', 'b'] }), [pool('a', 5), pool('b', 15), pool('c', 90)]), { ok: true, nodes: ['b'], poolName: 'loam-ssd' });
    assert.deepEqual(choosePlacement(request({ preferredNodes: ['a'] }), [pool('a', 5), pool('b', 15), pool('c', 90)]), { ok: true, nodes: ['c'], poolName: 'loam-ssd' });
  });

  it('never leaves the required nodes, however much room others have', () => {
    const r = choosePlacement(request({ requiredNodes: ['a', 'b'], preferredNodes: ['c'] }), [pool('a', 12), pool('b', 11), pool('c', 90)]);
    assert.deepEqual(r, { ok: true, nodes: ['a'], poolName: 'loam-ssd' });
  });

  it('puts two replicas on two distinct nodes: the preferred one first, then the most available', () => {
    const r = choosePlacement(request({ replicaCount: 2, preferredNodes: ['b', 'b'] }), [pool('a', 40), pool('b', 20), pool('c', 30)]);
    assert.deepEqual(r, { ok: true, nodes: ['b', 'a'], poolName: 'loam-ssd' });
  });

  it('places a volume exactly as large as the available bytes', () => {
    assert.equal(choosePlacement(request({ capacityBytes: 10 * Gi }), [pool('a', 10)]).ok, true);
  });

  it('keeps a too-large volume Pending with a message naming the largest available pool and its node', () => {
    const r = choosePlacement(request({ capacityBytes: 50 * Gi }), [pool('node-1', 3), { nodeName: 'node-3', poolName: 'loam-ssd', availableBytes: 9.5 * Gi }, pool('node-2', 1)]);
    assert.deepEqual(r, { ok: false, message: 'no SSD pool has room for 50Gi: the largest has 9.5Gi free (node-3)' });
  });

  it('names the required nodes in the message when they are the reason', () => {
    const r = choosePlacement(request({ capacityBytes: 50 * Gi, requiredNodes: ['a'] }), [pool('a', 3), pool('b', 100)]);
    assert.deepEqual(r, { ok: false, message: 'no SSD pool on the required nodes (a) has room for 50Gi: the largest has 3Gi free (a)' });
  });

  it('says when no node has a pool of the class at all', () => {
    assert.deepEqual(choosePlacement(request({ poolClass: 'NVMe' }), []), {
      ok: false, message: 'no node has a Ready NVMe pool: claim NVMe disks for Loam (a LocalDiskClaim with owner local-storage) on some node',
    });
    assert.deepEqual(choosePlacement(request({ requiredNodes: ['x'] }), [pool('a', 100)]), { ok: false, message: 'none of the required nodes (x) has a Ready SSD pool' });
  });

  it('refuses a two-replica volume when only one node has room, naming it and the next largest', () => {
    const r = choosePlacement(request({ replicaCount: 2 }), [pool('a', 40), pool('b', 4)]);
    assert.deepEqual(r, { ok: false, message: 'a 2-replica volume needs SSD pools with room for 10Gi on two nodes: only a has room (40Gi free); the next largest has 4Gi free (b)' });
    const alone = choosePlacement(request({ replicaCount: 2 }), [pool('a', 40)]);
    assert.equal(alone.ok, false);
    assert.match((alone as { message: string }).message, /only a has room \(40Gi free\); there is no other node with such a pool/);
  });

  it('shows a pool overcommitted by promises as 0 free, not a negative size', () => {
    const r = choosePlacement(request(), [{ nodeName: 'a', poolName: 'loam-ssd', availableBytes: -3 * Gi }]);
    assert.deepEqual(r, { ok: false, message: 'no SSD pool has room for 10Gi: the largest has 0 free (a)' });
  });
});

function lsn(node: string, freeGi: number, totalGi = freeGi, state: 'Ready' | 'NotReady' = 'Ready'): LocalStorageNode {
  return { apiVersion: 'loam.io/v1alpha1', kind: 'LocalStorageNode', metadata: { name: node }, spec: { nodeName: node },
    status: { state, lastHeartbeatTime: new Date().toISOString(), pools: [{ name: 'loam-ssd', vgName: 'loam-ssd', mediaClass: 'SSD', freeBytes: freeGi * Gi, totalBytes: totalGi * Gi }] } };
}
function replica(volume: string, node: string, gi: number, allocatedGi?: number): LocalVolumeReplica {
  return { apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolumeReplica', metadata: { name: `${volume}-${node}` },
    spec: { volumeName: volume, nodeName: node, poolName: 'loam-ssd', capacityBytes: gi * Gi }, ...(allocatedGi !== undefined ? { status: { state: 'Ready', allocatedBytes: allocatedGi * Gi } } : {}) };
}
function volume(name: string, gi: number, nodes: string[]): LocalVolume {
  return { apiVersion: 'loam.io/v1alpha1', kind: 'LocalVolume', metadata: { name }, spec: { poolClass: 'SSD', capacityBytes: gi * Gi, replicaCount: nodes.length, replicaNodes: nodes } };
}
function sources(lsns: LocalStorageNode[], replicas: LocalVolumeReplica[] = [], volumes: LocalVolume[] = []): RoomSources {
  return {
    storageNode: (n) => lsns.find((l) => l.metadata.name === n),
    replicasOnNode: (n) => replicas.filter((r) => r.spec.nodeName === n),
    volumesPlacedOn: (n) => volumes.filter((v) => v.spec.replicaNodes?.includes(n)),
  };
}

describe('placement: available bytes of a pool', () => {
  it('is the pool\'s free bytes when nothing is promised', () => {
    assert.equal(poolCandidate('a', 'SSD', sources([lsn('a', 40, 100)]), new PlacementLedger())?.availableBytes, 40 * Gi);
  });

  it('is nothing for a node that is NotReady or has no pool of the class', () => {
    assert.equal(poolCandidate('a', 'SSD', sources([lsn('a', 40, 100, 'NotReady')]), new PlacementLedger()), undefined);
    assert.equal(poolCandidate('a', 'HDD', sources([lsn('a', 40)]), new PlacementLedger()), undefined);
    assert.equal(poolCandidate('zz', 'SSD', sources([lsn('a', 40)]), new PlacementLedger()), undefined);
  });

  it('subtracts what replicas were promised and their LVs do not show yet (capacity − allocated)', () => {
    // 10Gi replica not created yet, 20Gi replica half-reported (allocated 20 = LV exists: free already dropped).
    const s = sources([lsn('a', 60, 100)], [replica('v1', 'a', 10), replica('v2', 'a', 20, 20)]);
    assert.equal(poolCandidate('a', 'SSD', s, new PlacementLedger())?.availableBytes, 50 * Gi);
  });

  it('never counts more than the pool size minus every replica placed there (the extender\'s bound)', () => {
    // The node report is stale (free 90 of 100) while 30Gi of replicas report allocated: 100 − 30 = 70.
    const s = sources([lsn('a', 90, 100)], [replica('v1', 'a', 30, 30)]);
    assert.equal(poolCandidate('a', 'SSD', s, new PlacementLedger())?.availableBytes, 70 * Gi);
  });

  it('counts replicas only known from the ledger or from a volume\'s replicaNodes, each once', () => {
    const ledger = new PlacementLedger();
    ledger.promise({ replicaName: 'v1-a', volumeName: 'v1', nodeName: 'a', poolName: 'loam-ssd', capacityBytes: 10 * Gi });
    // v1 is in the ledger AND in a cached volume: counted once; v2 only in a volume's replicaNodes.
    const s = sources([lsn('a', 100)], [], [volume('v1', 10, ['a']), volume('v2', 5, ['a', 'b'])]);
    assert.equal(poolCandidate('a', 'SSD', s, ledger)?.availableBytes, 85 * Gi);
    assert.equal(poolCandidate('b', 'SSD', sources([lsn('b', 100)], [], [volume('v2', 5, ['a', 'b'])]), ledger)?.availableBytes, 95 * Gi);
  });

  it('counts a grow promised in the ledger above the cached replica size', () => {
    const ledger = new PlacementLedger();
    ledger.promise({ replicaName: 'v1-a', volumeName: 'v1', nodeName: 'a', poolName: 'loam-ssd', capacityBytes: 30 * Gi });
    const s = sources([lsn('a', 90, 100)], [replica('v1', 'a', 10, 10)]);
    assert.equal(poolCandidate('a', 'SSD', s, ledger)?.availableBytes, 70 * Gi);
    ledger.settle('v1-a', 10 * Gi);
    assert.equal(ledger.size, 1, 'a cache still showing the old size does not settle the grow');
    ledger.settle('v1-a', 30 * Gi);
    assert.equal(ledger.size, 0);
  });

  it('a burst of decisions against the ledger never overcommits a pool', () => {
    const ledger = new PlacementLedger();
    const lsns = [lsn('a', 4), lsn('b', 4), lsn('c', 4)];
    const placed: string[][] = [];
    for (let i = 0; i < 30; i++) {
      const candidates = ['a', 'b', 'c'].map((n) => poolCandidate(n, 'SSD', sources(lsns), ledger)!);
      const r = choosePlacement(request({ volumeName: `v${i}`, capacityBytes: Gi }), candidates);
      if (!r.ok) continue;
      placed.push(r.nodes);
      ledger.promise({ replicaName: `v${i}-${r.nodes[0]}`, volumeName: `v${i}`, nodeName: r.nodes[0]!, poolName: 'loam-ssd', capacityBytes: Gi });
    }
    assert.equal(placed.length, 12);
    for (const n of ['a', 'b', 'c']) assert.equal(placed.filter((p) => p[0] === n).length, 4, `node ${n} got exactly its 4 GiB`);
  });

  it('takes a promise back when the write it stood for failed, and forgets a volume\'s promises', () => {
    let now = 0;
    const ledger = new PlacementLedger(1000, () => now);
    const undo = ledger.promise({ replicaName: 'v1-a', volumeName: 'v1', nodeName: 'a', poolName: 'loam-ssd', capacityBytes: Gi });
    undo();
    assert.equal(ledger.size, 0);
    ledger.promise({ replicaName: 'v2-a', volumeName: 'v2', nodeName: 'a', poolName: 'loam-ssd', capacityBytes: Gi });
    ledger.forgetVolume('v2');
    assert.equal(ledger.size, 0);
    ledger.promise({ replicaName: 'v3-a', volumeName: 'v3', nodeName: 'a', poolName: 'loam-ssd', capacityBytes: Gi });
    now = 1000;
    assert.deepEqual(ledger.entriesOn('a'), [], 'a promise expires (the volume\'s replicaNodes keeps counting it)');
  });
});

describe('placement: the room memo (the extender counts every node in every request)', () => {
  const facts = (freeGi: number): { lsn: LocalStorageNode; replicas: LocalVolumeReplica[]; s: RoomSources & { roomMemo: RoomMemo } } => {
    const replicas: LocalVolumeReplica[] = [];
    const out = { lsn: lsn('a', freeGi, 100), replicas, s: undefined as unknown as RoomSources & { roomMemo: RoomMemo } };
    out.s = { ...sources([out.lsn], replicas), storageNode: () => out.lsn, replicasOnNode: () => replicas, roomMemo: new RoomMemo(5_000, () => clock) };
    return out;
  };
  let clock = 0;
  const available = (s: RoomSources): number | undefined => {
    const room = poolRoom('a', 'SSD', s);
    return room.ok ? room.availableBytes : undefined;
  };

  it('answers from memory while the node\'s report and replicas are the same, and counts again when told or when the report is new', () => {
    const f = facts(40);
    assert.equal(available(f.s), 40 * Gi);
    f.replicas.push(replica('v1', 'a', 10));
    assert.equal(available(f.s), 40 * Gi, 'not told yet: the remembered count');
    f.s.roomMemo.forget('a');
    assert.equal(available(f.s), 30 * Gi, 'told: counted again');
    f.lsn = lsn('a', 20, 100);
    assert.equal(available(f.s), 10 * Gi, 'a new report is a new pool object: counted again');
  });

  it('forgets after maxAgeMs, and is never used with a ledger', () => {
    const f = facts(40);
    poolRoom('a', 'SSD', f.s);
    f.replicas.push(replica('v1', 'a', 10));
    const ledger = new PlacementLedger();
    ledger.promise({ replicaName: 'v2-a', volumeName: 'v2', nodeName: 'a', poolName: 'loam-ssd', capacityBytes: 5 * Gi });
    assert.equal(poolCandidate('a', 'SSD', f.s, ledger)?.availableBytes, 25 * Gi, 'placement counts, with its promises');
    clock += 5_001;
    assert.equal(available(f.s), 30 * Gi);
  });
});

