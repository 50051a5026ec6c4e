/** Parsing LVM's JSON reports and error output (pure functions of src/localstorage/lvm.ts). */
import assert from 'node:assert/strict';
import { classOfVgName, LvmError, parseReport, significantLine, toLv, toVg, vgNameOfClass } from '../../../src/localstorage/lvm.js';

describe('lvm reports', () => {
  it('reads vgs rows with byte sizes and tags', () => {
    const out = JSON.stringify({ report: [{ vg: [{ vg_name: 'loam-ssd', vg_size: '1069547520', vg_free: '1065353216', vg_extent_size: '4194304', pv_count: '1', lv_count: '1', vg_tags: 'loam.io,other' }] }] });
    const [vg] = parseReport(out, 'vg').map(toVg);
    assert.deepEqual(vg, { name: 'loam-ssd', sizeBytes: 1069547520, freeBytes: 1065353216, extentBytes: 4194304, pvCount: 1, lvCount: 1, tags: ['loam.io', 'other'] });
  });

  it('reads lvs rows: active flag, path, untagged LVs have no tags', () => {
    const out = JSON.stringify({ report: [{ lv: [
      { lv_name: 'pvc-1', vg_name: 'loam-ssd', lv_size: '4194304', lv_tags: 'loam.io', lv_active: 'active', lv_path: '/dev/loam-ssd/pvc-1' },
      { lv_name: 'theirs', vg_name: 'loam-ssd', lv_size: '8388608', lv_tags: '', lv_active: '', lv_path: '' },
    ] }] });
    const lvs = parseReport(out, 'lv').map(toLv);
    assert.deepEqual(lvs[0], { name: 'pvc-1', vgName: 'loam-ssd', sizeBytes: 4194304, tags: ['loam.io'], active: true, path: '/dev/loam-ssd/pvc-1' });
    assert.deepEqual(lvs[1], { name: 'theirs', vgName: 'loam-ssd', sizeBytes: 8388608, tags: [], active: false, path: '/dev/loam-ssd/theirs' });
  });

  it('an empty report is no rows', () => {
    assert.deepEqual(parseReport('', 'pv'), []);
    assert.deepEqual(parseReport('{"report":[{"pv":[]}]}', 'pv'), []);
  });

  it('refuses a size that is not a number', () => {
    assert.throws(() => toVg({ vg_name: 'x', vg_size: '1.0g' }), /vg_size is not a number: "1.0g"/);
  });

  it('maps media classes to VG names and back', () => {
    assert.equal(vgNameOfClass('NVMe'), 'loam-nvme');
    assert.equal(classOfVgName('loam-hdd'), 'HDD');
    assert.equal(classOfVgName('data'), undefined);
  });
});

describe('lvm errors', () => {
  it('picks the error line, not the environment warnings', () => {
    const stderr = '  WARNING: Failed to connect to lvmetad.\n  Volume group "loam-ssd" not found\n  Cannot process volume group loam-ssd\n';
    assert.equal(significantLine(stderr), 'Volume group "loam-ssd" not found');
    const err = new LvmError(['lvs', 'loam-ssd'], 5, stderr);
    assert.equal(err.notFound, true);
    assert.equal(err.exitCode, 5);
    assert.equal(err.command, 'lvs');
    assert.match(err.message, /lvm lvs failed: Volume group "loam-ssd" not found/);
  });

  it('a lack of space is not "not found"', () => {
    const err = new LvmError(['lvcreate'], 5, '  Volume group "loam-ssd" has insufficient free space (10 extents): 256 required.\n');
    assert.equal(err.notFound, false);
    assert.equal(err.line, 'Volume group "loam-ssd" has insufficient free space (10 extents): 256 required.');
  });
});
