import assert from 'node:assert/strict';
import { diskState, type StateInput } from '../../../src/ldm/disk-state.js';

const base: StateInput = { present: true, verdict: { safe: true }, reserved: false, claimed: false };

describe('diskState', function () {
  it('blank, unclaimed, not reserved → Available', function () {
    assert.deepEqual(diskState(base), { state: 'Available', code: 'Empty' });
  });
  it('claimRef set → Claimed', function () {
    assert.equal(diskState({ ...base, claimed: true }).state, 'Claimed');
  });
  it('gone → Offline, whatever else is true', function () {
    assert.deepEqual(diskState({ ...base, present: false, currentState: 'InUse', claimed: true }), { state: 'Offline', reason: 'is not present on its node', code: 'NotPresent' });
  });
  it('reserved → Unavailable with the reserved reason, even when claimed', function () {
    assert.deepEqual(diskState({ ...base, reserved: true, claimed: true }), { state: 'Unavailable', reason: 'is reserved by an administrator', code: 'Reserved' });
  });
  it('unsafe → Unavailable with the probe reason, even when claimed', function () {
    const r = diskState({ ...base, claimed: true, verdict: { safe: false, reason: 'holds a filesystem (ext4)', code: 'HasFilesystem' } });
    assert.deepEqual(r, { state: 'Unavailable', reason: 'holds a filesystem (ext4)', code: 'HasFilesystem' });
  });
  it('never downgrades InUse (set by Local Storage), although the disk holds a PV', function () {
    const r = diskState({ ...base, currentState: 'InUse', claimed: true, owner: 'local-storage', signature: 'LVM2_member', verdict: { safe: false, reason: 'holds an LVM physical volume' } });
    assert.equal(r.state, 'InUse');
  });
  it('a local-storage disk with a PV coming back from Offline is InUse again', function () {
    const r = diskState({ ...base, currentState: 'Offline', claimed: true, owner: 'local-storage', signature: 'LVM2_member', verdict: { safe: false } });
    assert.equal(r.state, 'InUse');
  });
  it('a PV on a disk claimed for another owner stays Unavailable', function () {
    const r = diskState({ ...base, claimed: true, owner: 'someone-else', signature: 'LVM2_member', verdict: { safe: false, reason: 'holds an LVM physical volume' } });
    assert.equal(r.state, 'Unavailable');
  });
  it('comes back from Offline to Available or Claimed', function () {
    assert.equal(diskState({ ...base, currentState: 'Offline' }).state, 'Available');
    assert.equal(diskState({ ...base, currentState: 'Offline', claimed: true }).state, 'Claimed');
  });
});
