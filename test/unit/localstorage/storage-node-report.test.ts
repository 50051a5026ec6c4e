/** LocalStorageNode status from vgs/pvs/lvs (src/localstorage/storage-node-report.ts). */
import assert from 'node:assert/strict';
import type { LvReport, PvReport, VgReport } from '../../../src/localstorage/lvm.js';
import { applyLvChange, buildStorageNodeReport } from '../../../src/localstorage/storage-node-report.js';

const GiB = 2 ** 30;
const vg = (name: string, size: number, free: number, tags = ['loam.io']): VgReport => ({ name, sizeBytes: size, freeBytes: free, extentBytes: 4 << 20, pvCount: 1, lvCount: 0, tags });
const pv = (pvName: string, vgName: string): PvReport => ({ pvName, vgName, sizeBytes: GiB, freeBytes: GiB, uuid: pvName });
const lv = (name: string, vgName: string, tags = ['loam.io']): LvReport => ({ name, vgName, sizeBytes: GiB, tags, active: true, path: `/dev/${vgName}/${name}` });
const names: Record<string, string> = { '/dev/sdb': 'n1-b', '/dev/sdc': 'n1-c', '/dev/sdd': 'n1-d' };
const diskOfPv = (p: PvReport): string | undefined => names[p.pvName];

describe('LocalStorageNode report', () => {
  it('one pool per Loam VG with vgs sizes, pvs disks and Loam LV count; foreign VGs are not pools', () => {
    const report = buildStorageNodeReport({
      lvm: {
        vgs: [vg('loam-ssd', 2 * GiB, GiB), vg('loam-hdd', 10 * GiB, 10 * GiB), vg('data', GiB, GiB, []), vg('loam-nvme', GiB, GiB, [])],
        pvs: [pv('/dev/sdc', 'loam-ssd'), pv('/dev/sdb', 'loam-ssd'), pv('/dev/sdd', 'loam-hdd'), pv('/dev/sde', 'data'), pv('/dev/sdf', '')],
        lvs: [lv('pvc-1', 'loam-ssd'), lv('theirs', 'loam-ssd', []), lv('x', 'data')],
      },
      diskOfPv,
      activationFailures: new Map(),
      problems: [],
    });
    assert.equal(report.state, 'Ready');
    assert.deepEqual(report.pools, [
      { name: 'loam-hdd', mediaClass: 'HDD', vgName: 'loam-hdd', totalBytes: 10 * GiB, freeBytes: 10 * GiB, volumeCount: 0, disks: ['n1-d'], total: '10Gi', free: '10Gi', state: 'Ready' },
      { name: 'loam-ssd', mediaClass: 'SSD', vgName: 'loam-ssd', totalBytes: 2 * GiB, freeBytes: GiB, volumeCount: 1, disks: ['n1-b', 'n1-c'], total: '2Gi', free: '1Gi', state: 'Ready' },
    ]);
    assert.equal(report.poolClasses, 'HDD,SSD');
    assert.equal(report.free, '11Gi');
    assert.equal(report.message, undefined);
    assert.deepEqual(report.conditions.map((c) => [c.type, c.status]), [['Ready', 'True'], ['DisksPooled', 'True'], ['PoolsComplete', 'True']]);
  });

  it('a pool with a missing PV is Degraded, names the missing disk (by its recorded PV UUID), offers no free space; the node stays Ready (item 14)', () => {
    const missing: PvReport = { pvName: '[unknown]', vgName: 'loam-ssd', sizeBytes: GiB, freeBytes: 0, uuid: 'uuid-c', missing: true };
    const unrecorded: PvReport = { ...missing, uuid: 'uuid-z' };
    const byUuid: Record<string, string> = { 'uuid-c': 'n1-c' };
    const report = buildStorageNodeReport({
      lvm: { vgs: [{ ...vg('loam-ssd', 2 * GiB, GiB), pvCount: 3, missingPvCount: 2 }, vg('loam-hdd', GiB, GiB)], pvs: [pv('/dev/sdb', 'loam-ssd'), missing, unrecorded, pv('/dev/sdd', 'loam-hdd')], lvs: [lv('pvc-1', 'loam-ssd')] },
      diskOfPv: (p) => (p.missing ? byUuid[p.uuid] : names[p.pvName]),
      activationFailures: new Map(), problems: [],
    });
    assert.equal(report.state, 'Ready', 'volumes on the present disks keep being served');
    const ssd = report.pools.find((p) => p.name === 'loam-ssd')!;
    assert.equal(ssd.state, 'Degraded');
    assert.deepEqual(ssd.missingDisks, ['n1-c', 'pv uuid-z']);
    assert.equal(ssd.freeBytes, 0, 'LVM allocates nothing in a VG with a missing PV');
    assert.equal(ssd.volumeCount, 1);
    assert.match(ssd.message!, /n1-c, pv uuid-z missing: volumes wholly on the other disks keep working; .*vgreduce --removemissing loam-ssd/);
    assert.equal(report.pools.find((p) => p.name === 'loam-hdd')!.state, 'Ready');
    assert.match(report.message!, /pool loam-ssd is Degraded: n1-c/);
    const cond = report.conditions.find((c) => c.type === 'PoolsComplete')!;
    assert.deepEqual([cond.status, cond.reason], ['False', 'PhysicalVolumeMissing']);
    assert.equal(report.conditions.find((c) => c.type === 'Ready')!.status, 'True');
  });

  it('no pools yet: Ready with no classes and 0 free', () => {
    const report = buildStorageNodeReport({ lvm: { vgs: [], pvs: [], lvs: [] }, diskOfPv, activationFailures: new Map(), problems: [] });
    assert.deepEqual([report.state, report.pools, report.poolClasses, report.free], ['Ready', [], '', '0']);
  });

  it('NotReady with LVM\'s line when vgs fails or a VG cannot be activated', () => {
    const failed = buildStorageNodeReport({ lvmError: 'Locking failed', diskOfPv, activationFailures: new Map(), problems: [] });
    assert.equal(failed.state, 'NotReady');
    assert.equal(failed.message, 'cannot read the volume groups: Locking failed');
    assert.equal(failed.conditions[0]!.reason, 'LvmFailed');
    const inactive = buildStorageNodeReport({ lvm: { vgs: [vg('loam-ssd', GiB, GiB)], pvs: [], lvs: [] }, diskOfPv, activationFailures: new Map([['loam-ssd', 'device-mapper: reload ioctl failed']]), problems: [] });
    assert.equal(inactive.state, 'NotReady');
    assert.match(inactive.message!, /volume group loam-ssd cannot be activated: device-mapper: reload ioctl failed/);
  });

  it('disks that could not be pooled are named in the message and the DisksPooled condition; the node stays Ready', () => {
    const report = buildStorageNodeReport({
      lvm: { vgs: [], pvs: [], lvs: [] }, diskOfPv, activationFailures: new Map(),
      problems: [{ disk: 'n1-x', device: '/dev/sdx', message: 'the disk is a physical volume of volume group data, which Loam did not create' }],
    });
    assert.equal(report.state, 'Ready');
    assert.equal(report.message, 'disks not pooled: n1-x (/dev/sdx): the disk is a physical volume of volume group data, which Loam did not create');
    assert.deepEqual([report.conditions[1]!.status, report.conditions[1]!.reason], ['False', 'DisksNotPooled']);
  });

  it('follows LV changes by arithmetic: create takes the LV size from free, grow the difference, remove gives it back', () => {
    const MiB = 2 ** 20;
    const small = (name: string, size: number): LvReport => ({ ...lv(name, 'loam-ssd'), sizeBytes: size });
    const start = { vgs: [vg('loam-ssd', 2 * GiB, GiB), vg('loam-hdd', GiB, GiB)], pvs: [pv('/dev/sdb', 'loam-ssd')], lvs: [lv('pvc-1', 'loam-ssd')] };
    const pool = (s: typeof start): [number, number] => {
      const p = buildStorageNodeReport({ lvm: s, diskOfPv, activationFailures: new Map(), problems: [] }).pools.find((x) => x.vgName === 'loam-ssd')!;
      return [p.freeBytes!, p.volumeCount!];
    };
    const created = applyLvChange(start, { lv: small('pvc-2', 64 * MiB), previousBytes: 0 });
    assert.deepEqual(pool(created), [GiB - 64 * MiB, 2]);
    assert.equal(created.vgs.find((v) => v.name === 'loam-hdd')!.freeBytes, GiB, 'other VGs unchanged');
    const grown = applyLvChange(created, { lv: small('pvc-2', 96 * MiB), previousBytes: 64 * MiB });
    assert.deepEqual(pool(grown), [GiB - 96 * MiB, 2], 'growing counts only the difference and keeps one entry');
    const removed = applyLvChange(grown, { removed: small('pvc-2', 96 * MiB) });
    assert.deepEqual(pool(removed), [GiB, 1]);
    assert.deepEqual(pool(start), [GiB, 1], 'the input snapshot is not modified');
    const unknownVg = applyLvChange(start, { lv: { ...small('pvc-3', MiB), vgName: 'loam-nvme' }, previousBytes: 0 });
    assert.equal(unknownVg, start, 'a change in a VG the snapshot lacks leaves it as it is');
  });
});
