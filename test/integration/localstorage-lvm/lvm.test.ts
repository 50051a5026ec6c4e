/**
 * The LVM door against real LVM on host loop devices: reports equal what the LVM tools print,
 * errors carry LVM's own line, pvcreate never wipes a signature, and LVM sees only the devices the
 * door is given. The host kernel has no device-mapper, so LVs cannot be made here: LV creation,
 * growth, removal and the loam.io tag guard are tested in the VM tier (test/e2e/storage.test.ts).
 *
 * The door runs commands only on Loam's VG names, so this file uses loam-nvme (and, for the VG it
 * must not see, loam-hdd): it refuses to run when a Loam VG exists on the host and removes what it made.
 */
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { isPvUuid, Lvm, LvmError, loamTag, newPvUuid } from '../../../src/localstorage/lvm.js';
import { assertNoLoamVgs, printedPvs, removeLoamLvm } from '../localstorage-pools/support.js';
import { LoopDevices } from '../udev/support/loop.js';

const MiB = 1024 ** 2;
const lvmEnv = { LC_ALL: 'C', LVM_SUPPRESS_FD_WARNINGS: '1' };

async function lvmTool(args: string[]): Promise<string> {
  return (await execa('lvm', args, { env: lvmEnv })).stdout;
}

async function fsType(device: string): Promise<string> {
  return (await execa('blkid', ['-p', '-o', 'value', '-s', 'TYPE', device], { reject: false })).stdout.trim();
}

describe('lvm door on real loop devices', function () {
  this.timeout(60_000);
  const loops = new LoopDevices();
  const vgName = 'loam-nvme';
  let devices: string[] = [];
  /** What the door may see: the two pool devices (a third, "outside", is never in it). */
  let visible: string[] = [];
  const lvm = new Lvm({ devices: async () => visible });
  let guarded = false;

  before(async () => {
    await assertNoLoamVgs();
    guarded = true;
    devices = [
      await loops.attachAnywhere(await loops.sparseFile(64 * MiB, 'a.img')),
      await loops.attachAnywhere(await loops.sparseFile(96 * MiB, 'b.img')),
      await loops.attachAnywhere(await loops.sparseFile(64 * MiB, 'outside.img')),
      await loops.attachAnywhere(await loops.sparseFile(64 * MiB, 'ext4.img')),
    ];
    visible = devices.slice(0, 2);
  });

  after(async () => {
    if (guarded) await removeLoamLvm(devices);
    await loops.cleanup();
  });

  it('pvcreate (with the UUID Loam chose), vgcreate (tagged) and vgextend show up in pvs and vgs as LVM prints them', async () => {
    const uuid = newPvUuid();
    await lvm.pvcreate(devices[0]!, { uuid });
    await lvm.vgcreate(vgName, [devices[0]!]);
    await lvm.pvcreate(devices[1]!);
    await lvm.vgextend(vgName, [devices[1]!]);

    const vg = (await lvm.vgs()).find((v) => v.name === vgName);
    assert.ok(vg, `vgs lists ${vgName}`);
    const printed = (await lvmTool(['vgs', '--noheadings', '--units', 'b', '--nosuffix', '-o', 'vg_size,vg_free,pv_count,vg_tags', vgName])).trim().split(/\s+/);
    assert.deepEqual([vg.sizeBytes, vg.freeBytes, vg.pvCount, vg.tags.join(',')], [Number(printed[0]), Number(printed[1]), Number(printed[2]), printed[3]]);
    assert.deepEqual(vg.tags, [loamTag]);
    assert.equal(vg.pvCount, 2);
    assert.equal(vg.missingPvCount, undefined, 'no PV is missing');

    const pvs = (await lvm.pvs()).filter((p) => p.vgName === vgName);
    assert.deepEqual(pvs.map((p) => p.pvName).sort(), [...devices.slice(0, 2)].sort());
    assert.equal(pvs.reduce((s, p) => s + p.sizeBytes, 0), vg.sizeBytes);
    assert.equal(pvs.find((p) => p.pvName === devices[0])?.uuid, uuid, 'the PV carries the UUID Loam chose');
    assert.ok(isPvUuid(pvs.find((p) => p.pvName === devices[1])!.uuid));
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

  it('pvcreate, vgcreate and vgextend never wipe a signature: on a device holding ext4 they fail and the ext4 stays (item 3)', async () => {
    const ext4 = devices[3]!;
    await execa('mkfs.ext4', ['-q', '-F', ext4]);
    await assert.rejects(lvm.pvcreate(ext4, { uuid: newPvUuid() }), (err: unknown) => {
      assert.ok(err instanceof LvmError, String(err));
      assert.match(err.stderr, /ext4 signature detected/);
      assert.match(err.line, /Aborted wiping of ext4|signature/);
      return true;
    });
    assert.equal(await fsType(ext4), 'ext4', 'the ext4 survives pvcreate');
    // vgextend/vgcreate of a device that is not a PV yet would pvcreate it implicitly.
    await assert.rejects(lvm.vgextend(vgName, [ext4]), LvmError);
    assert.equal(await fsType(ext4), 'ext4', 'the ext4 survives vgextend');
    await assert.rejects(lvm.vgcreate('loam-ssd', [ext4]), LvmError);
    assert.equal(await fsType(ext4), 'ext4', 'the ext4 survives vgcreate');
    assert.equal((await printedPvs()).has(ext4), false, 'the ext4 device is no PV');
  });

  it('LVM sees only the devices the door is given: a VG named and tagged like a Loam pool elsewhere is not listed, and vgchange refuses it (item 5)', async () => {
    const outside = devices[2]!;
    await lvmTool(['pvcreate', '-q', outside]);
    await lvmTool(['vgcreate', '-q', '--addtag', loamTag, 'loam-hdd', outside]);
    assert.deepEqual((await lvm.vgs()).map((v) => v.name), [vgName]);
    assert.equal((await lvm.pvs()).some((p) => p.pvName === outside), false);
    assert.deepEqual(await lvm.lvs('loam-hdd'), []);
    await assert.rejects(lvm.activateVg('loam-hdd'), (err: unknown) => err instanceof LvmError && err.notFound);
    assert.deepEqual((await lvmTool(['vgs', '--noheadings', '-o', 'vg_tags', 'loam-hdd'])).trim(), loamTag, 'and it is left as it was');
  });

  it('with no pool device LVM is not run: reports are empty, commands fail saying so', async () => {
    const blind = new Lvm({ devices: async () => [] });
    assert.deepEqual(await blind.vgs(), []);
    assert.deepEqual(await blind.pvs(), []);
    assert.deepEqual(await blind.lvs(vgName), []);
    await assert.rejects(blind.activateVg(vgName), /no disk of a Loam pool is on this node/);
  });

  it('lvcreate without device-mapper fails with LVM\'s reason', async () => {
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
