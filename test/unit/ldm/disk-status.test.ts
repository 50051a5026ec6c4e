import assert from 'node:assert/strict';
import type { LocalDisk, LocalDiskState } from '../../../src/api/index.js';
import type { DiskRecord } from '../../../src/ldm/disk-inventory.js';
import { summariseDisks } from '../../../src/ldm/disk-node-summary.js';
import { desiredStatus } from '../../../src/ldm/disk-status.js';

const GiB = 1024 ** 3;
const now = new Date('2026-01-01T00:10:00.000Z');

function record(over: Partial<DiskRecord> = {}): DiskRecord {
  return {
    name: 'n1-abc', present: true, sysname: 'loop3',
    spec: { nodeName: 'n1', devicePath: '/dev/loop3', capacityBytes: 10 * GiB, mediaClass: 'SSD' },
    facts: { partitions: [], holders: [], mounts: [], activeSwap: false }, verdict: { safe: true },
    health: 'Unknown', smartReadAt: 0, seenAt: now.getTime(), ...over,
  };
}

function disk(name: string, state: LocalDiskState | undefined, mediaClass: 'HDD' | 'SSD', bytes: number, extra: Partial<LocalDisk['spec']> = {}): LocalDisk {
  return { apiVersion: 'loam.io/v1alpha1', kind: 'LocalDisk', metadata: { name }, spec: { nodeName: 'n1', devicePath: '/dev/x', capacityBytes: bytes, mediaClass, ...extra }, status: state ? { state } : undefined };
}

describe('desiredStatus', function () {
  it('writes state, capacity, health, lastSeen and conditions for a new disk', function () {
    const d = desiredStatus(record(), disk('n1-abc', undefined, 'SSD', 10 * GiB), now, 60_000);
    assert.equal(d.changed, true);
    assert.equal(d.status.state, 'Available');
    assert.equal(d.status.capacity, '10Gi');
    assert.equal(d.status.health, 'Unknown');
    assert.equal(d.status.lastSeen, now.toISOString());
    assert.deepEqual(d.status.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`), ['Present=True/Present', 'Safe=True/Empty']);
  });
  it('needs no write when nothing changed and lastSeen is fresh', function () {
    const first = desiredStatus(record(), disk('n1-abc', undefined, 'SSD', 10 * GiB), now, 60_000);
    const stored = { ...disk('n1-abc', undefined, 'SSD', 10 * GiB), status: first.status };
    const later = new Date(now.getTime() + 30_000);
    const again = desiredStatus(record(), stored, later, 60_000);
    assert.equal(again.changed, false);
    assert.equal(again.status.conditions?.[0]?.lastTransitionTime, now.toISOString(), 'transition time kept');
    assert.equal(desiredStatus(record(), stored, new Date(now.getTime() + 61_000), 60_000).changed, true, 'lastSeen refreshed when stale');
  });
  it('a LocalDisk without a present record is Offline and keeps its last lastSeen', function () {
    const stored = { ...disk('n1-abc', 'Available', 'SSD', 10 * GiB) };
    stored.status = { state: 'Available', lastSeen: '2026-01-01T00:00:00.000Z' };
    const d = desiredStatus(undefined, stored, now, 60_000);
    assert.equal(d.status.state, 'Offline');
    assert.equal(d.status.reason, 'is not present on its node');
    assert.equal(d.status.lastSeen, '2026-01-01T00:00:00.000Z');
    assert.equal(d.changed, true);
  });
  it('follows claimRef and reserved in spec', function () {
    assert.equal(desiredStatus(record(), disk('a', 'Available', 'SSD', GiB, { claimRef: { name: 'c', uid: 'u' } }), now, 60_000).status.state, 'Claimed');
    const r = desiredStatus(record(), disk('a', 'Available', 'SSD', GiB, { reserved: true }), now, 60_000);
    assert.deepEqual([r.status.state, r.status.reason], ['Unavailable', 'is reserved by an administrator']);
  });
});

describe('summariseDisks', function () {
  it('counts by state and sums capacity by class (Offline disks counted, not sized)', function () {
    const s = summariseDisks([
      disk('a', 'Available', 'SSD', 10 * GiB),
      disk('b', 'Claimed', 'SSD', 20 * GiB),
      disk('c', 'Unavailable', 'HDD', 100 * GiB),
      disk('d', 'Offline', 'HDD', 100 * GiB),
      disk('e', 'InUse', 'HDD', 50 * GiB),
    ]);
    assert.deepEqual(s.disks, { total: 5, available: 1, claimed: 1, inUse: 1, unavailable: 1, offline: 1 });
    assert.deepEqual(s.capacity, [
      { mediaClass: 'HDD', disks: 2, totalBytes: 150 * GiB, availableBytes: 0, total: '150Gi', available: '0' },
      { mediaClass: 'SSD', disks: 2, totalBytes: 30 * GiB, availableBytes: 10 * GiB, total: '30Gi', available: '10Gi' },
    ]);
  });
});
