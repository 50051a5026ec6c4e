import assert from 'node:assert/strict';
import { newerCopy, OwnWrites } from '../../../src/kube/own-writes.js';

interface Vol { metadata: { name: string; resourceVersion: string; deletionTimestamp?: string }; state: string }

const vol = (rv: number, state: string, deleting = false): Vol => ({
  metadata: { name: 'v1', resourceVersion: String(rv), ...(deleting ? { deletionTimestamp: '2026-11-23T00:00:00Z' } : {}) },
  state,
});

function setup(): { cache: Map<string, Vol>; writes: OwnWrites<Vol>; clock: { t: number } } {
  const cache = new Map<string, Vol>();
  const clock = { t: 0 };
  const writes = new OwnWrites<Vol>({ cached: (n) => cache.get(n), tombstoneMs: 1000, now: () => clock.t });
  return { cache, writes, clock };
}

describe('kube OwnWrites (our writes until the informer catches up)', () => {
  it('newerCopy picks the higher resourceVersion and lets the cache win when one is not a number', () => {
    assert.equal(newerCopy(vol(5, 'mine'), vol(4, 'cache'))!.state, 'mine');
    assert.equal(newerCopy(vol(4, 'mine'), vol(5, 'cache'))!.state, 'cache');
    assert.equal(newerCopy(vol(5, 'mine'), vol(5, 'cache'))!.state, 'cache');
    assert.equal(newerCopy({ metadata: { name: 'v1', resourceVersion: 'x' }, state: 'mine' }, vol(1, 'cache'))!.state, 'cache');
    assert.equal(newerCopy(undefined, vol(1, 'cache'))!.state, 'cache');
    assert.equal(newerCopy(vol(1, 'mine'), undefined)!.state, 'mine');
  });

  it('reads our write while the cache is behind, and the cache once it has caught up', () => {
    const { cache, writes } = setup();
    cache.set('v1', vol(10, 'Pending'));
    writes.wrote(vol(11, 'Ready'));
    assert.equal(writes.get('v1')!.state, 'Ready');
    cache.set('v1', vol(12, 'Ready+'));
    writes.seen(cache.get('v1')!);
    assert.deepEqual([...writes.names()], []);
    assert.equal(writes.get('v1')!.state, 'Ready+');
  });

  it('a write response that arrives after the watch delivered a later deletion does not hide it', () => {
    const { cache, writes } = setup();
    // The watch already delivered rv 12 (deletion requested) before our rv 11 status write answered.
    cache.set('v1', vol(12, 'Ready', true));
    writes.seen(cache.get('v1')!);
    writes.wrote(vol(11, 'Ready'));
    assert.ok(writes.get('v1')!.metadata.deletionTimestamp, 'the deletion is seen');
    assert.deepEqual([...writes.names()], []);
  });

  it('a late response for an object already deleted does not bring it back, until the tombstone expires', () => {
    const { cache, writes, clock } = setup();
    const last = vol(12, 'Deleting', true);
    writes.deleted(last);
    writes.wrote(vol(11, 'Ready'));
    assert.equal(writes.get('v1'), undefined);
    // A new object of the same name (higher version) is ours to remember.
    writes.wrote(vol(20, 'Pending'));
    assert.equal(writes.get('v1')!.state, 'Pending');
    cache.set('v1', vol(21, 'Ready'));
    writes.seen(cache.get('v1')!);
    cache.delete('v1');
    writes.deleted(vol(22, 'Deleting', true));
    clock.t = 5000;
    writes.deleted({ metadata: { name: 'other', resourceVersion: '30' }, state: 'x' });
    // The tombstone of v1 expired: an old response would now be kept (10 min in production).
    writes.wrote(vol(21, 'late'));
    assert.equal(writes.get('v1')!.state, 'late');
  });
});
