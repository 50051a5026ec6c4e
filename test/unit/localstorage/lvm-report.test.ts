/** Parsing LVM's JSON reports and error output (pure functions of src/localstorage/lvm.ts). */
import assert from 'node:assert/strict';
import { classOfVgName, isPvUuid, Lvm, LvmError, newPvUuid, parseReport, significantLine, toLv, toPv, toVg, unsafeLvmName, vgNameOfClass } from '../../../src/localstorage/lvm.js';

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

  it('reads what a missing PV leaves: the PV flagged missing, the VG\'s missing count, LVs on it partial', () => {
    const pvs = parseReport(JSON.stringify({ report: [{ pv: [
      { pv_name: '/dev/vdb', vg_name: 'loam-ssd', pv_size: '1069547520', pv_free: '0', pv_uuid: 'aaaaaa-bbbb-cccc-dddd-eeee-ffff-gggggg', pv_missing: '' },
      { pv_name: '[unknown]', vg_name: 'loam-ssd', pv_size: '1069547520', pv_free: '0', pv_uuid: 'hhhhhh-iiii-jjjj-kkkk-llll-mmmm-nnnnnn', pv_missing: 'missing' },
    ] }] }), 'pv').map(toPv);
    assert.deepEqual(pvs.map((p) => p.missing), [undefined, true]);
    const vg = toVg({ vg_name: 'loam-ssd', vg_size: '2139095040', vg_free: '0', vg_extent_size: '4194304', pv_count: '2', lv_count: '2', vg_tags: 'loam.io', vg_missing_pv_count: '1' });
    assert.equal(vg.missingPvCount, 1);
    assert.equal(toLv({ lv_name: 'pvc-2', vg_name: 'loam-ssd', lv_size: '4194304', lv_tags: 'loam.io', lv_active: '', lv_health_status: 'partial' }).partial, true);
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

describe('the LVM door refuses names that are not Loam\'s before it runs anything (item 7)', () => {
  // The device source is the first thing a command asks for: reaching it means LVM was about to run.
  const lvm = new Lvm({ devices: async () => assert.fail('no LVM command may run for a refused name') });
  const refused = (p: Promise<unknown>, pattern: RegExp): Promise<void> => assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof LvmError, `an LvmError, got ${String(err)}`);
    assert.match(err.line, pattern);
    return true;
  });

  it('a VG that is not loam-hdd/ssd/nvme: the OS volume group, a look-alike, an option', async () => {
    for (const vg of ['ubuntu-vg', 'loam-ssd2', 'Loam-ssd', '-ff', '', 'loam-ssd/x']) {
      assert.match(unsafeLvmName(vg) ?? '', /is not one of Loam's \(loam-hdd, loam-ssd, loam-nvme\)/, vg);
      await refused(lvm.lvcreate({ vgName: vg, lvName: 'pvc-1', sizeBytes: 4 << 20 }), /refusing to run lvcreate: volume group .* is not one of Loam's/);
      await refused(lvm.lvs(vg), /refusing to run lvs/);
      await refused(lvm.findLv(vg, 'pvc-1'), /refusing to run lvs/);
      await refused(lvm.lvextend({ vgName: vg, lvName: 'pvc-1', sizeBytes: 8 << 20 }), /refusing to run lvextend/);
      await refused(lvm.lvremove(vg, 'pvc-1'), /refusing to run lvremove/);
      await refused(lvm.vgcreate(vg, ['/dev/vdb']), /refusing to run vgcreate/);
      await refused(lvm.vgextend(vg, ['/dev/vdb']), /refusing to run vgextend/);
      await refused(lvm.activateVg(vg), /refusing to run vgchange/);
    }
  });

  it('LV names that could be options or that LVM reserves; Loam\'s own names pass', async () => {
    for (const lv of ['-ff', '--yes', '.', '..', 'a/b', 'pvc 1', 'PVC-1', 'snapshot0', 'pvmove1', 'x'.repeat(128), '', 'pvc-1;rm']) {
      assert.ok(unsafeLvmName('loam-ssd', lv), `"${lv}" is refused`);
      await refused(lvm.lvcreate({ vgName: 'loam-ssd', lvName: lv, sizeBytes: 4 << 20 }), /refusing to run lvcreate: logical volume name/);
      await refused(lvm.lvremove('loam-ssd', lv), /refusing to run lvremove: logical volume name/);
      await refused(lvm.findLv('loam-ssd', lv), /refusing to run lvs: logical volume name/);
    }
    for (const lv of ['pvc-0b6f2c1e-5d7a-4a8e-9c3b-2f1e0d9c8b7a', 'pvc-door', 'data.1', 'x'.repeat(127)]) assert.equal(unsafeLvmName('loam-nvme', lv), undefined, lv);
  });

  it('device arguments must be /dev paths, and a PV UUID must be LVM\'s format', async () => {
    for (const dev of ['--yes', '-ff', 'vdb', '/dev/../etc/passwd', '/tmp/x']) {
      await refused(lvm.pvcreate(dev), /refusing to run pvcreate: .* is not a device path under \/dev/);
      await refused(lvm.vgextend('loam-ssd', [dev]), /refusing to run vgextend/);
    }
    await refused(lvm.pvcreate('/dev/vdb', { uuid: '--restorefile=/x' }), /is not an LVM PV UUID/);
  });
});

describe('PV UUIDs chosen by Loam', () => {
  it('are in LVM\'s format and differ each time', () => {
    const a = newPvUuid();
    assert.ok(isPvUuid(a), a);
    assert.notEqual(newPvUuid(), a);
    assert.equal(isPvUuid('4f1c8a2e-0b7d-4c59-9f34-6a1e2d3c4b5a'), false, 'an RFC 4122 UUID is not one');
  });
});
