/**
 * The LVM door against real LVM on host loop devices: reports equal what the LVM tools print,
 * errors carry LVM's own line. The host kernel has no device-mapper, so LVs cannot be made here:
 * LV creation, growth, removal and the loam.io tag guard are tested in the VM tier
 * (test/e2e/lvm-door.test.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { Lvm, LvmError, loamTag } from '../../../src/localstorage/lvm.js';
import { LoopDevices } from '../udev/support/loop.js';

const MiB = 1024 ** 2;
const lvmEnv = { LC_ALL: 'C', LVM_SUPPRESS_FD_WARNINGS: '1' };

async function lvmTool(args: string[]): Promise<string> {
  return (await execa('lvm', args, { env: lvmEnv })).stdout;
}

describe('lvm door on real loop devices', function () {
  this.timeout(60_000);
  const loops = new LoopDevices();
  const lvm = new Lvm();
  // A VG name of its own so this file never meets the loam-* pools of other tests.
  const vgName = `loamtest-${randomBytes(3).toString('hex')}`;
  let devices: string[] = [];

  before(async () => {
    devices = [
      await loops.attachAnywhere(await loops.sparseFile(64 * MiB, 'a.img')),
      await loops.attachAnywhere(await loops.sparseFile(96 * MiB, 'b.img')),
    ];
  });

  after(async () => {
    await execa('lvm', ['vgremove', '--yes', '--force', vgName], { reject: false, env: lvmEnv });
    for (const d of devices) await execa('lvm', ['pvremove', '--yes', d], { reject: false, env: lvmEnv });
    await loops.cleanup();
  });

  it('pvcreate, vgcreate (tagged) and vgextend show up in pvs and vgs as LVM prints them', async () => {
    await lvm.pvcreate(devices[0]!);
    await lvm.vgcreate(vgName, [devices[0]!]);
    await lvm.pvcreate(devices[1]!);
    await lvm.vgextend(vgName, [devices[1]!]);

    const vg = (await lvm.vgs()).find((v) => v.name === vgName);
    assert.ok(vg, `vgs lists ${vgName}`);
    const printed = (await lvmTool(['vgs', '--noheadings', '--units', 'b', '--nosuffix', '-o', 'vg_size,vg_free,pv_count,vg_tags', vgName])).trim().split(/\s+/);
    assert.deepEqual([vg.sizeBytes, vg.freeBytes, vg.pvCount, vg.tags.join(',')], [Number(printed[0]), Number(printed[1]), Number(printed[2]), printed[3]]);
    assert.deepEqual(vg.tags, [loamTag]);
    assert.equal(vg.pvCount, 2);

    const pvs = (await lvm.pvs()).filter((p) => p.vgName === vgName);
    assert.deepEqual(pvs.map((p) => p.pvName).sort(), [...devices].sort());
    assert.equal(pvs.reduce((s, p) => s + p.sizeBytes, 0), vg.sizeBytes);
  });

  it('pvcreate refuses a device that is already a PV of a VG, with LVM\'s own words', async () => {
    await assert.rejects(lvm.pvcreate(devices[0]!), (err: unknown) => {
      assert.ok(err instanceof LvmError);
      assert.equal(err.command, 'pvcreate');
      assert.ok(err.exitCode !== 0 && err.exitCode !== undefined);
      assert.match(err.line, new RegExp(`${devices[0]}|already|physical volume`, 'i'));
      return true;
    });
  });

  it('lvs of a missing VG is empty; lvcreate without device-mapper fails with LVM\'s reason', async () => {
    assert.deepEqual(await lvm.lvs('loamtest-missing'), []);
    await assert.rejects(lvm.lvcreate({ vgName, lvName: 'x', sizeBytes: 4 * MiB }), (err: unknown) => {
      assert.ok(err instanceof LvmError);
      assert.match(err.stderr, /device-mapper/);
      assert.match(err.line, /mapper|device/);
      return true;
    });
  });

  it('an aborted call kills LVM and says cancelled', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(lvm.vgs({ signal: ac.signal }), /cancelled/);
  });
});
