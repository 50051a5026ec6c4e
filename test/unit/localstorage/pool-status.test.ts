/** The LocalDisk status the PoolManager writes (src/localstorage/pool-status.ts). */
import assert from 'node:assert/strict';
import type { Condition, LocalDisk } from '../../../src/api/index.js';
import { inPool, pooledMatches, poolStatusPatch, withPooled } from '../../../src/localstorage/pool-status.js';

const present: Condition = { type: 'Present', status: 'True', reason: 'Present', lastTransitionTime: '2026-01-01T00:00:00.000Z' };

describe('pool status', () => {
  it('InUse with a Pooled=True condition; the publisher\'s conditions are kept', () => {
    const disk = { status: { state: 'Claimed', reason: 'x', conditions: [present] } } as unknown as LocalDisk;
    const patch = poolStatusPatch(disk, inPool('loam-ssd', '/dev/sdb'), new Date('2026-02-02T00:00:00Z'));
    assert.equal(patch.state, 'InUse');
    assert.equal(patch.reason, null);
    assert.deepEqual(patch.conditions, [present, { type: 'Pooled', status: 'True', reason: 'InPool', message: 'physical volume /dev/sdb of volume group loam-ssd', lastTransitionTime: '2026-02-02T00:00:00.000Z' }]);
  });

  it('a refusal writes only the condition, never the state', () => {
    const patch = poolStatusPatch({ status: {} } as LocalDisk, { status: 'False', reason: 'NotSafe', message: 'the disk holds a filesystem (ext4)' }, new Date());
    assert.equal(patch.state, undefined);
    assert.equal((patch.conditions as Condition[])[0]!.reason, 'NotSafe');
  });

  it('keeps the transition time while the status stays, and tells when nothing needs writing', () => {
    const first = withPooled(undefined, { status: 'False', reason: 'LvmFailed', message: 'a' }, 't1');
    const second = withPooled(first, { status: 'False', reason: 'NotSafe', message: 'b' }, 't2');
    assert.equal(second[0]!.lastTransitionTime, 't1');
    assert.equal(withPooled(second, inPool('loam-hdd', '/dev/x'), 't3')[0]!.lastTransitionTime, 't3');
    const disk = { status: { conditions: second } } as unknown as LocalDisk;
    assert.ok(pooledMatches(disk, { status: 'False', reason: 'NotSafe', message: 'b' }));
    assert.ok(!pooledMatches(disk, { status: 'False', reason: 'NotSafe', message: 'c' }));
  });
});
