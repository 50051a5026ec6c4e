/**
 * The host kernel has no device-mapper; inside a VM with Debian's kernel, LVM volumes are made,
 * formatted, mounted, written and read back, as Loam's node agent will do.
 */
import assert from 'node:assert/strict';
import { runCompiled } from './harness/guest-process.js';
import { Vm } from './harness/vm.js';

const GiB = 1024 ** 3;

describe('e2e: a VM with a device-mapper kernel', function () {
  let vm: Vm;
  let disk: string;

  before(async function () {
    vm = await Vm.start({ name: 'storage', disks: [{ id: 'data0', sizeBytes: 4 * GiB }] });
    disk = `/dev/${await vm.deviceWithSerial('data0')}`;
    assert.match(disk, /^\/dev\/vd[a-z]$/, 'the guest shows the boot disk by its serial');
  });

  after(async function () {
    await vm?.stop();
  });

  it('has device-mapper with thin provisioning, DRBD 8.4, ext4 and xfs loaded', async function () {
    const modules = (await vm.runOk('cut -d" " -f1 /proc/modules')).split('\n');
    for (const m of ['dm_mod', 'dm_thin_pool', 'drbd', 'ext4', 'xfs', 'virtio_blk', 'virtio_net']) assert.ok(modules.includes(m), `module ${m} is loaded`);
    assert.match(await vm.runOk('dmsetup targets'), /^thin-pool\s/m);
    assert.match(await vm.runOk('cat /proc/drbd'), /^version: 8\.4\./m);
    assert.equal((await vm.runOk('hostname')).trim(), 'storage');
  });

  it('creates an LV, makes ext4 on it, mounts it, writes a file and reads the same bytes back', async function () {
    await vm.runOk(`pvcreate -q ${disk} && vgcreate -q loam-ssd ${disk} && lvcreate -q -y -n vol1 -L 256m loam-ssd`);
    const lvs = await vm.runOk('lvs --noheadings --units m -o lv_name,vg_name,lv_size loam-ssd');
    assert.match(lvs, /vol1\s+loam-ssd\s+256\.00m/);

    const written = await vm.runOk([
      'set -e',
      'mkfs.ext4 -q /dev/loam-ssd/vol1',
      'mkdir -p /mnt/vol1 && mount /dev/loam-ssd/vol1 /mnt/vol1',
      'head -c 16M /dev/urandom > /mnt/vol1/data',
      'sha256sum < /mnt/vol1/data',
      'umount /mnt/vol1',
    ].join('\n'));
    // Mounted again after an unmount, so the bytes come from the volume and not from the page cache.
    const read = await vm.runOk([
      'set -e',
      'mount /dev/loam-ssd/vol1 /mnt/vol1',
      'findmnt -n -o FSTYPE,SOURCE /mnt/vol1 >&2',
      'sha256sum < /mnt/vol1/data',
      'umount /mnt/vol1',
    ].join('\n'));
    assert.match(written, /^[0-9a-f]{64}\s/);
    assert.equal(read, written);
    assert.match(await vm.runOk('blkid -o value -s TYPE /dev/loam-ssd/vol1'), /^ext4$/m);
  });

  it('makes a thin pool with an xfs thin volume that can be mounted and written', async function () {
    await vm.runOk('lvcreate -q -y --type thin-pool -n pool -L 1g loam-ssd && lvcreate -q -y --type thin -n thin1 -V 2g --thinpool pool loam-ssd');
    const out = await vm.runOk([
      'set -e',
      'mkfs.xfs -q /dev/loam-ssd/thin1',
      'mkdir -p /mnt/thin1 && mount /dev/loam-ssd/thin1 /mnt/thin1',
      'head -c 8M /dev/urandom > /mnt/thin1/data && sync',
      'findmnt -n -o FSTYPE /mnt/thin1',
      "lvs --noheadings -o lv_name,lv_attr,data_percent loam-ssd/pool loam-ssd/thin1",
      'umount /mnt/thin1',
    ].join('\n'));
    assert.match(out, /^xfs$/m);
    // A thin volume of 2 GiB inside a pool of 1 GiB: over-provisioned, as thin pools allow.
    assert.match(out, /thin1\s+Vwi-aotz--\s+\d/);
    const used = Number(/pool\s+twi-aotz--\s+([\d.]+)/.exec(out)?.[1]);
    assert.ok(used > 0 && used < 100, `the pool has data but is not full (${used}%)`);
  });

  it("Loam's LVM door makes tagged LVs, grows them, removes them, and never changes an LV it did not make", async function () {
    const run = await runCompiled(vm, 'test/e2e/guest/lvm-door.ts', ['loam-ssd']);
    assert.equal(run.exitCode, 0, `the door's guest program failed:\n${run.stderr}${run.stdout}`);
    const out = JSON.parse(run.stdout) as Record<string, unknown>;
    const MiB = 1024 ** 2;
    assert.deepEqual(out.created, { name: 'pvc-door', vgName: 'loam-ssd', sizeBytes: 12 * MiB, tags: ['loam.io'], active: true, path: '/dev/loam-ssd/pvc-door' }, '10 MiB rounded up to 4 MiB extents, tagged and active');
    assert.match(String(out.again), /lvm lvcreate failed: .*already exists/, 'a second lvcreate of the same name fails with LVM\'s line');
    assert.equal((out.grown as { sizeBytes: number }).sizeBytes, 20 * MiB);
    assert.equal((out.notShrunk as { sizeBytes: number }).sizeBytes, 20 * MiB, 'a smaller size never shrinks');
    assert.match(String(out.removeTheirs), /refusing to remove loam-ssd\/theirs: it has no loam.io tag/);
    assert.match(String(out.extendTheirs), /refusing to extend loam-ssd\/theirs/);
    assert.equal((out.theirsAfter as { sizeBytes: number }).sizeBytes, 8 * MiB, 'the foreign LV is untouched');
    assert.deepEqual([out.removed, out.removedAgain, out.gone], [true, false, true]);
    assert.match(String(out.noRoom), /insufficient free space/, 'LVM\'s own reason reaches the caller');
    // The hot path computes sizes from the extent size: the figures equal what lvs reports.
    assert.equal(out.extentBytes, 4 * MiB);
    assert.deepEqual(out.fastCreated, out.fastListed, 'computed report of lvcreate = lvs');
    assert.deepEqual(out.fastGrown, out.fastGrownListed, 'computed report of lvextend = lvs');
    assert.equal((out.fastGrown as { sizeBytes: number }).sizeBytes, 32 * MiB, '30 MiB rounded up to 4 MiB extents');
    assert.match(String(out.removeTheirsKnown), /refusing to remove loam-ssd\/theirs/, 'a report passed in is still checked for the tag');
    assert.deepEqual([out.fastRemoved, out.fastRemovedStale], [true, false], 'removing an LV already gone is false, not an error');
    assert.equal((out.theirsAtEnd as { sizeBytes: number }).sizeBytes, 8 * MiB, 'the foreign LV is still untouched');
  });
});

