import assert from 'node:assert/strict';
import { apiVersion, type LocalVolumeReplica } from '../../../src/api/index.js';
import type { LvReport } from '../../../src/localstorage/lvm.js';
import { notReadyStatus, readyStatus, stateDuring, statusPatch } from '../../../src/localstorage/replica-status.js';

const GiB = 2 ** 30;
const replica: LocalVolumeReplica = {
  apiVersion,
  kind: 'LocalVolumeReplica',
  metadata: { name: 'pvc-1-n1', generation: 2 },
  spec: { volumeName: 'pvc-1', nodeName: 'n1', poolName: 'loam-ssd', capacityBytes: GiB },
};
const lv: LvReport = { name: 'pvc-1', vgName: 'loam-ssd', sizeBytes: GiB, tags: ['loam.io'], active: true, path: '/dev/loam-ssd/pvc-1' };
const t0 = new Date('2026-01-02T03:04:05.678Z');
const t1 = new Date('2026-01-02T04:00:00Z');

describe('replica status', () => {
  it('is Ready with the LV path, its size in bytes and for people, synced, and a Ready condition', () => {
    const s = readyStatus(replica, lv, t0);
    assert.equal(s.state, 'Ready');
    assert.equal(s.devicePath, '/dev/loam-ssd/pvc-1');
    assert.equal(s.allocatedBytes, GiB);
    assert.equal(s.capacity, '1Gi');
    assert.equal(s.synced, true);
    assert.equal(s.message, undefined);
    assert.deepEqual(s.conditions, [{ type: 'Ready', status: 'True', reason: 'LvReady', message: 'LV /dev/loam-ssd/pvc-1 is active', lastTransitionTime: '2026-01-02T03:04:05Z', observedGeneration: 2 }]);
  });

  it('keeps what is known about the LV while Expanding, with the message and a False condition', () => {
    const ready = readyStatus(replica, lv, t0);
    const s = notReadyStatus({ ...replica, status: ready }, 'Expanding', 'Expanding', 'growing', t1);
    assert.equal(s.state, 'Expanding');
    assert.equal(s.devicePath, ready.devicePath);
    assert.equal(s.allocatedBytes, GiB);
    assert.equal(s.message, 'growing');
    assert.equal(s.conditions?.[0]?.status, 'False');
    assert.equal(s.conditions?.[0]?.lastTransitionTime, '2026-01-02T04:00:00Z');
  });

  it('an LVM failure leaves the replica in the step that is retried', () => {
    assert.equal(stateDuring('create'), 'Creating');
    assert.equal(stateDuring('extend'), 'Expanding');
    assert.equal(stateDuring('remove'), 'Deleting');
  });

  it('patches nothing when nothing a user sees changed, even at a later time', () => {
    const s = readyStatus(replica, lv, t0);
    assert.equal(statusPatch(s, readyStatus({ ...replica, status: s }, lv, t1)), undefined);
  });

  it('clears a stale message with null when the replica becomes Ready', () => {
    const failed = notReadyStatus(replica, 'Creating', 'LvmError', 'lvcreate failed: Volume group "loam-ssd" has insufficient free space', t0);
    assert.equal(failed.synced, false);
    const patch = statusPatch(failed, readyStatus({ ...replica, status: failed }, lv, t1));
    assert.ok(patch);
    assert.equal(patch.message, null);
    assert.equal(patch.state, 'Ready');
    assert.equal(patch.devicePath, '/dev/loam-ssd/pvc-1');
  });
});
