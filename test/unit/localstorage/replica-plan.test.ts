import assert from 'node:assert/strict';
import { apiVersion, finalizer, type LocalVolumeReplica } from '../../../src/api/index.js';
import { replicaUidTag, type LvReport } from '../../../src/localstorage/lvm.js';
import { inStep, needsReconcile, planReplica } from '../../../src/localstorage/replica-plan.js';

const MiB = 2 ** 20;
const replica = (capacityBytes: number, deleting = false): LocalVolumeReplica => ({
  apiVersion,
  kind: 'LocalVolumeReplica',
  metadata: { name: 'pvc-1-n1', uid: 'uid-1', generation: 1, finalizers: [finalizer], ...(deleting ? { deletionTimestamp: new Date('2026-01-01T00:00:00Z') } : {}) },
  spec: { volumeName: 'pvc-1', nodeName: 'n1', poolName: 'loam-ssd', capacityBytes },
});
const lv = (sizeBytes: number, over: Partial<LvReport> = {}): LvReport => ({ name: 'pvc-1', vgName: 'loam-ssd', sizeBytes, tags: ['loam.io', replicaUidTag('uid-1')], active: true, path: '/dev/loam-ssd/pvc-1', ...over });

describe('replica plan', () => {
  it('creates a missing LV', () => {
    assert.deepEqual(planReplica(replica(100 * MiB), undefined), { kind: 'create' });
    assert.deepEqual(planReplica({ ...replica(100 * MiB), status: { state: 'Creating', message: 'lvcreate failed' } }, undefined), { kind: 'create' });
  });

  it('never makes again, empty, an LV the replica had reported: it is missing (data gone or disk away)', () => {
    const reported = { ...replica(100 * MiB), status: { state: 'Ready' as const, allocatedBytes: 100 * MiB, devicePath: '/dev/loam-ssd/pvc-1' } };
    assert.deepEqual(planReplica(reported, undefined), { kind: 'missing' });
    assert.deepEqual(planReplica({ ...reported, status: { ...reported.status, state: 'Failed' as const } }, undefined), { kind: 'missing' }, 'stays missing on every recheck');
    assert.equal(planReplica(reported, lv(100 * MiB)).kind, 'report', 'recovers when the LV is back');
    assert.equal(planReplica(replica(100 * MiB, true), undefined).kind, 'release', 'deleting it lets it go');
  });

  it('only reports an LV that exists with the right size or more (LVM rounds up to extents)', () => {
    assert.equal(planReplica(replica(100 * MiB), lv(100 * MiB)).kind, 'report');
    assert.equal(planReplica(replica(101 * MiB), lv(104 * MiB)).kind, 'report');
  });

  it('extends an LV smaller than the spec asks', () => {
    assert.equal(planReplica(replica(200 * MiB), lv(104 * MiB)).kind, 'extend');
  });

  it('activates an inactive LV of the right size (after a reboot)', () => {
    assert.equal(planReplica(replica(100 * MiB), lv(100 * MiB, { active: false })).kind, 'activate');
  });

  it('never acts on an LV without the loam.io tag: Failed while the replica lives, left in place on delete', () => {
    const foreign = lv(50 * MiB, { tags: ['other'] });
    assert.equal(planReplica(replica(100 * MiB), foreign).kind, 'foreign');
    assert.deepEqual(planReplica(replica(100 * MiB, true), foreign), { kind: 'release', foreign });
  });

  it('never adopts, grows or removes an LV of its name made for another replica (a volume re-created under an old name)', () => {
    const old = lv(100 * MiB, { tags: ['loam.io', replicaUidTag('uid-of-the-old-tenant')] });
    assert.deepEqual(planReplica(replica(100 * MiB), old), { kind: 'taken', lv: old }, 'a new replica: Failed, the LV untouched');
    assert.deepEqual(planReplica(replica(200 * MiB), old), { kind: 'taken', lv: old }, 'not extended');
    const reported = { ...replica(100 * MiB), status: { state: 'Ready' as const, allocatedBytes: 100 * MiB, devicePath: '/dev/loam-ssd/pvc-1' } };
    assert.deepEqual(planReplica(reported, old), { kind: 'taken', lv: old }, 'even when its status names that path');
    assert.deepEqual(planReplica(replica(100 * MiB, true), old), { kind: 'release', kept: old }, 'deleting the replica leaves the other replica\'s LV');
  });

  it('an LV from before the UID tag is adopted (tagged) only when this replica\'s own status already reported it', () => {
    const legacy = lv(100 * MiB, { tags: ['loam.io'] });
    const reported = { ...replica(100 * MiB), status: { state: 'Ready' as const, allocatedBytes: 100 * MiB, devicePath: '/dev/loam-ssd/pvc-1' } };
    assert.deepEqual(planReplica(reported, legacy), { kind: 'tag', lv: legacy });
    assert.deepEqual(planReplica(replica(100 * MiB), legacy), { kind: 'taken', lv: legacy }, 'a replica that never reported it cannot tell whose it is');
    assert.deepEqual(planReplica({ ...reported, status: { ...reported.status, devicePath: '/dev/loam-ssd/other' } }, legacy), { kind: 'taken', lv: legacy });
    assert.deepEqual(planReplica({ ...replica(100 * MiB, true), status: reported.status }, legacy), { kind: 'remove', lv: legacy }, 'deleting: removed on the same evidence');
    assert.deepEqual(planReplica(replica(100 * MiB, true), legacy), { kind: 'release', kept: legacy });
    assert.equal(inStep(reported, legacy), false, 'the periodic pass tags it');
  });

  it('a replica deleted by hand while its volume still wants it keeps its LV (the finalizer holds)', () => {
    assert.deepEqual(planReplica(replica(100 * MiB, true), lv(100 * MiB), { volumeWantsIt: true }), { kind: 'hold', lv: lv(100 * MiB) });
    assert.deepEqual(planReplica(replica(100 * MiB, true), lv(100 * MiB), { volumeWantsIt: false }), { kind: 'remove', lv: lv(100 * MiB) });
    assert.deepEqual(planReplica(replica(100 * MiB, true), undefined, { volumeWantsIt: true }), { kind: 'release' }, 'no LV: nothing to keep');
  });

  it('removes our LV on delete, and releases the finalizer once no LV is left', () => {
    assert.equal(planReplica(replica(100 * MiB, true), lv(100 * MiB)).kind, 'remove');
    assert.deepEqual(planReplica(replica(100 * MiB, true), undefined), { kind: 'release' });
  });
});

describe('replica informer updates', () => {
  const base = replica(100 * MiB);
  it('skip a status-only change (our own status write)', () => {
    assert.equal(needsReconcile({ ...base, metadata: { ...base.metadata, resourceVersion: '9' }, status: { state: 'Ready' } }, base), false);
  });

  it('reconcile a spec change, a deletion, a finalizer or label change', () => {
    assert.ok(needsReconcile({ ...base, metadata: { ...base.metadata, generation: 2 } }, base));
    assert.ok(needsReconcile(replica(100 * MiB, true), base));
    assert.ok(needsReconcile({ ...base, metadata: { ...base.metadata, finalizers: [] } }, base));
    assert.ok(needsReconcile({ ...base, metadata: { ...base.metadata, labels: { 'loam.io/node': 'n1' } } }, base));
  });

  it('the periodic pass skips only a Ready replica whose LV is exactly as its status says', () => {
    const ready = (r: LocalVolumeReplica, allocatedBytes = 100 * MiB): LocalVolumeReplica => ({ ...r, status: { state: 'Ready', allocatedBytes, devicePath: '/dev/loam-ssd/pvc-1' } });
    assert.equal(inStep(ready(replica(100 * MiB)), lv(100 * MiB)), true);
    assert.equal(inStep(ready(replica(100 * MiB)), undefined), false, 'LV removed behind our back');
    assert.equal(inStep(ready(replica(100 * MiB)), lv(100 * MiB, { active: false })), false, 'inactive');
    assert.equal(inStep(ready(replica(100 * MiB)), lv(100 * MiB, { tags: [] })), false, 'no longer tagged');
    assert.equal(inStep(ready(replica(200 * MiB)), lv(100 * MiB)), false, 'spec grew');
    assert.equal(inStep(ready(replica(100 * MiB), 96 * MiB), lv(100 * MiB)), false, 'status size differs from the LV');
    assert.equal(inStep(ready(replica(100 * MiB)), lv(100 * MiB, { path: '/dev/other/pvc-1' })), false, 'path differs');
    assert.equal(inStep(ready(replica(100 * MiB, true)), lv(100 * MiB)), false, 'being deleted');
    assert.equal(inStep({ ...replica(100 * MiB), status: { state: 'Creating' } }, lv(100 * MiB)), false, 'not Ready (a crash before the status write)');
    const noFinalizer = ready(replica(100 * MiB));
    assert.equal(inStep({ ...noFinalizer, metadata: { ...noFinalizer.metadata, finalizers: [] } }, lv(100 * MiB)), false, 'finalizer missing');
  });
});
