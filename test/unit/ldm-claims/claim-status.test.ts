import assert from 'node:assert/strict';
import { apiVersion, type LocalDisk, type LocalDiskClaim } from '../../../src/api/index.js';
import { claimStatus, sameClaimStatus } from '../../../src/ldm/claim-status.js';

const Gi = 2 ** 30;
const claim: LocalDiskClaim = { apiVersion, kind: 'LocalDiskClaim', metadata: { name: 'c1', uid: 'u1', generation: 3 }, spec: { nodeName: 'n1' } };
const disk = (name: string, gi: number): LocalDisk => ({ apiVersion, kind: 'LocalDisk', metadata: { name }, spec: { nodeName: 'n1', devicePath: `/dev/${name}`, capacityBytes: gi * Gi, mediaClass: 'SSD' } });

describe('claim status', () => {
  it('is Bound with the disks sorted, their total size and a Bound condition', () => {
    const s = claimStatus(claim, [disk('sdc', 1), disk('sdb', 1.5)], '2 disks bound', new Date('2026-01-02T03:04:05.678Z'));
    assert.equal(s.phase, 'Bound');
    assert.deepEqual(s.boundDisks, ['sdb', 'sdc']);
    assert.equal(s.capacity, '2.5Gi');
    assert.deepEqual(s.conditions, [{ type: 'Bound', status: 'True', reason: 'DisksBound', message: '2 disks bound', lastTransitionTime: '2026-01-02T03:04:05Z', observedGeneration: 3 }]);
  });

  it('keeps the transition time while the condition holds, and needs no write when nothing changed', () => {
    const first = claimStatus(claim, [], 'nothing matches', new Date('2026-01-02T03:04:05Z'));
    assert.equal(first.phase, 'Pending');
    const again = claimStatus({ ...claim, status: first }, [], 'nothing matches', new Date('2026-01-02T05:00:00Z'));
    assert.equal(again.conditions?.[0]?.lastTransitionTime, '2026-01-02T03:04:05Z');
    assert.ok(sameClaimStatus(first, again));
    const bound = claimStatus({ ...claim, status: first }, [disk('sdb', 1)], '1 disk bound', new Date('2026-01-02T06:00:00Z'));
    assert.equal(bound.conditions?.[0]?.lastTransitionTime, '2026-01-02T06:00:00Z');
    assert.equal(sameClaimStatus(first, bound), false);
  });
});
