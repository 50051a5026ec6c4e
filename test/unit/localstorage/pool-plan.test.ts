/** The PoolManager's decisions (src/localstorage/pool-plan.ts): what is pooled, adopted, refused, ignored. */
import assert from 'node:assert/strict';
import type { LocalDisk } from '../../../src/api/index.js';
import type { SafetyFacts } from '../../../src/ldm/probe.js';
import type { PvReport, VgReport } from '../../../src/localstorage/lvm.js';
import { planPool, type PoolPlanInput } from '../../../src/localstorage/pool-plan.js';

const node = 'n1';
const empty: SafetyFacts = { partitions: [], holders: [], mounts: [], activeSwap: false };

function disk(over: Partial<LocalDisk['spec']> = {}, state: string | null = 'Claimed', pvUuid?: string): LocalDisk {
  return {
    apiVersion: 'loam.io/v1alpha1', kind: 'LocalDisk', metadata: { name: 'n1-abc' },
    spec: { nodeName: node, devicePath: '/dev/sdb', capacityBytes: 1 << 30, mediaClass: 'SSD', claimRef: { name: 'c', uid: 'u' }, owner: 'local-storage', ...over },
    status: state ? { state: state as 'Claimed', ...(pvUuid ? { pvUuid } : {}) } : undefined,
  };
}

/** The UUID the plan hands out for a new PV, and one Loam recorded on the disk earlier. */
const fresh = 'Fresh1-aaaa-bbbb-cccc-dddd-eeee-ffffff';
const recorded = 'Recrd1-aaaa-bbbb-cccc-dddd-eeee-ffffff';
const someoneElses = 'Other1-aaaa-bbbb-cccc-dddd-eeee-ffffff';

const vg = (name: string, tags = ['loam.io']): VgReport => ({ name, sizeBytes: 1 << 30, freeBytes: 1 << 29, extentBytes: 4 << 20, pvCount: 1, lvCount: 0, tags });
const pv = (vgName: string, uuid = recorded): PvReport => ({ pvName: '/dev/sdb', vgName, sizeBytes: 1 << 30, freeBytes: 1 << 30, uuid });

function plan(over: Partial<PoolPlanInput> = {}): ReturnType<typeof planPool> {
  return planPool({ disk: disk(), nodeName: node, facts: empty, vgs: [], freshPvUuid: fresh, ...over });
}

describe('pool plan', () => {
  it('an empty claimed SSD disk: its PV UUID is recorded first, then it is pvcreated and creates loam-ssd when it does not exist', () => {
    assert.deepEqual(plan(), { kind: 'pool', vgName: 'loam-ssd', pvcreate: true, vg: 'create', pvUuid: fresh, recordPvUuid: true });
    // The record is there (a crash after it, before pvcreate): pvcreate with that UUID, nothing new recorded.
    assert.deepEqual(plan({ disk: disk({}, 'Claimed', recorded) }), { kind: 'pool', vgName: 'loam-ssd', pvcreate: true, vg: 'create', pvUuid: recorded, recordPvUuid: false });
  });

  it('joins the class VG with vgextend when it exists and is tagged loam.io; HDD and NVMe go to their own VGs', () => {
    assert.deepEqual(plan({ vgs: [vg('loam-ssd')] }), { kind: 'pool', vgName: 'loam-ssd', pvcreate: true, vg: 'extend', pvUuid: fresh, recordPvUuid: true });
    assert.deepEqual(plan({ disk: disk({ mediaClass: 'HDD' }), vgs: [vg('loam-ssd')] }), { kind: 'pool', vgName: 'loam-hdd', pvcreate: true, vg: 'create', pvUuid: fresh, recordPvUuid: true });
    assert.deepEqual(plan({ disk: disk({ mediaClass: 'NVMe' }) }), { kind: 'pool', vgName: 'loam-nvme', pvcreate: true, vg: 'create', pvUuid: fresh, recordPvUuid: true });
  });

  it('ignores disks of other nodes, unclaimed disks and disks claimed for another owner', () => {
    assert.equal(plan({ disk: disk({ nodeName: 'n2' }) }).kind, 'ignore');
    assert.equal(plan({ disk: disk({ claimRef: undefined, owner: undefined }) }).kind, 'ignore');
    assert.equal(plan({ disk: disk({ owner: 'someone-else' }) }).kind, 'ignore');
  });

  it('waits while the disk is Offline, not yet reported, or its device is not found', () => {
    assert.equal(plan({ disk: disk({}, 'Offline') }).kind, 'wait');
    assert.equal(plan({ disk: disk({}, null) }).kind, 'wait');
    assert.equal(plan({ facts: undefined }).kind, 'wait');
  });

  it('refuses a disk that holds anything, with the safety probe\'s reason, and never plans a pvcreate for it', () => {
    const cases: Array<[SafetyFacts, RegExp]> = [
      [{ ...empty, signature: 'ext4' }, /holds a filesystem \(ext4\)/],
      [{ ...empty, partitionTable: 'gpt' }, /has a partition table \(gpt\)/],
      [{ ...empty, mounts: ['/data'] }, /is mounted at \/data/],
      [{ ...empty, holders: ['dm-0'] }, /is held by dm-0/],
      [{ ...empty, activeSwap: true }, /is active swap/],
      [{ ...empty, signature: 'LVM2_member' }, /holds an LVM physical volume/],
      [{ ...empty, probeError: 'cannot read' }, /could not be probed/],
    ];
    for (const [facts, reason] of cases) {
      const action = plan({ facts });
      assert.equal(action.kind, 'refuse', JSON.stringify(facts));
      assert.ok(action.kind === 'refuse' && action.code === 'NotSafe');
      assert.match(action.message, reason);
      assert.match(action.message, /wipefs -a/);
    }
  });

  it('adopts a PV in no VG only when it carries the UUID Loam recorded before its pvcreate (crash after pvcreate), without another pvcreate', () => {
    const facts = { ...empty, signature: 'LVM2_member' };
    const ours = disk({}, 'Claimed', recorded);
    assert.deepEqual(plan({ disk: ours, facts, pv: pv('') }), { kind: 'pool', vgName: 'loam-ssd', pvcreate: false, vg: 'create', pvUuid: recorded, recordPvUuid: false });
    assert.deepEqual(plan({ disk: ours, facts, pv: pv(''), vgs: [vg('loam-ssd')] }), { kind: 'pool', vgName: 'loam-ssd', pvcreate: false, vg: 'extend', pvUuid: recorded, recordPvUuid: false });
  });

  it('leaves alone a PV in no VG that Loam has no record of making: no record, or another UUID (item 4)', () => {
    const facts = { ...empty, signature: 'LVM2_member' };
    for (const input of [{ disk: disk(), pv: pv('', someoneElses) }, { disk: disk({}, 'Claimed', recorded), pv: pv('', someoneElses) }, { disk: disk({}, 'InUse'), pv: pv('', recorded) }]) {
      const action = plan({ facts, ...input });
      assert.ok(action.kind === 'refuse' && action.code === 'ForeignPhysicalVolume', JSON.stringify(action));
      assert.match(action.message, /is an LVM physical volume in no volume group that Loam did not make .*Loam leaves it alone/);
    }
  });

  it('still refuses an orphan PV of ours that is mounted, held or carries another signature', () => {
    const ours = disk({}, 'Claimed', recorded);
    assert.equal(plan({ disk: ours, facts: { ...empty, signature: 'LVM2_member', holders: ['dm-3'] }, pv: pv('') }).kind, 'refuse');
    assert.equal(plan({ disk: ours, facts: { ...empty, signature: 'xfs' }, pv: pv('') }).kind, 'refuse');
  });

  it('a PV already in its Loam VG is only marked InUse (no LVM step), whatever its state; its UUID is recorded when the disk has no record of it', () => {
    const facts = { ...empty, signature: 'LVM2_member' };
    assert.deepEqual(plan({ facts, pv: pv('loam-ssd'), vgs: [vg('loam-ssd')] }), { kind: 'pool', vgName: 'loam-ssd', pvcreate: false, vg: 'none', pvUuid: recorded, recordPvUuid: true });
    assert.deepEqual(plan({ disk: disk({}, 'InUse', recorded), facts, pv: pv('loam-ssd'), vgs: [vg('loam-ssd')] }), { kind: 'pool', vgName: 'loam-ssd', pvcreate: false, vg: 'none', pvUuid: recorded, recordPvUuid: false });
  });

  it('never touches a PV of a foreign VG: another name, or a loam-* name without the loam.io tag', () => {
    const facts = { ...empty, signature: 'LVM2_member' };
    for (const input of [{ pv: pv('data'), vgs: [vg('data', [])] }, { pv: pv('loam-ssd'), vgs: [vg('loam-ssd', [])] }]) {
      const action = plan({ facts, ...input });
      assert.ok(action.kind === 'refuse' && action.code === 'ForeignVolumeGroup', JSON.stringify(action));
      assert.match(action.message, /Loam did not create/);
    }
  });

  it('does not pvcreate an empty disk whose class VG exists without the loam.io tag', () => {
    const action = plan({ vgs: [vg('loam-ssd', ['mine'])] });
    assert.ok(action.kind === 'refuse' && action.code === 'ForeignVolumeGroup');
    assert.match(action.message, /volume group loam-ssd, but a volume group of that name exists without the loam\.io tag/);
  });

  it('refuses a reserved disk that is not yet in a pool', () => {
    const action = plan({ disk: disk({ reserved: true }) });
    assert.ok(action.kind === 'refuse' && action.code === 'Reserved');
  });
});
