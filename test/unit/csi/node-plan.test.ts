import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { mkfsCommand, growCommand } from '../../../src/csi/node-fs.js';
import { bindMountArgs, mountArgs, mountsAt, remountBindArgs } from '../../../src/csi/node-mount.js';
import { planPublish, planStage, publishOptions, type PublishFacts, type StageFacts } from '../../../src/csi/node-plan.js';
import { CsiError } from '../../../src/csi/errors.js';
import { lvOfDevicePath, usageOfStatfs, volumeCondition } from '../../../src/csi/node-stats.js';
import type { LvReport } from '../../../src/localstorage/lvm.js';

const stage = (over: Partial<StageFacts>): StageFacts => ({
  volumeId: 'pvc-1', accessType: 'mount', fsType: 'ext4', device: '/dev/loam-ssd/pvc-1', deviceNumber: '253:4',
  contents: {}, stagedDevices: [], stagingPath: '/stage/pvc-1', ...over,
});

const publish = (over: Partial<PublishFacts>): PublishFacts => ({
  volumeId: 'pvc-1', accessType: 'mount', device: '/dev/loam-ssd/pvc-1', deviceNumber: '253:4',
  stagedDevices: ['253:4'], stagingPath: '/stage/pvc-1', targetDevices: [], targetPath: '/pods/x/mount', singleWriter: false, otherPublishes: [], ...over,
});

function rpcError(code: status, text: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof CsiError, `a CsiError, got ${String(err)}`);
    assert.equal(err.code, code, `code ${status[code]}, got ${status[err.code]}: ${err.message}`);
    assert.match(err.details, text);
    return true;
  };
}

describe('csi node: NodeStage decisions', () => {
  it('formats an empty device, then mounts it', () => {
    assert.equal(planStage(stage({})), 'format-and-mount');
  });

  it('mounts a device that already holds the requested filesystem, without formatting', () => {
    assert.equal(planStage(stage({ contents: { fsType: 'ext4' } })), 'mount');
    assert.equal(planStage(stage({ fsType: 'xfs', contents: { fsType: 'xfs' } })), 'mount');
  });

  it('does nothing when the device is already mounted at the staging path', () => {
    assert.equal(planStage(stage({ contents: { fsType: 'ext4' }, stagedDevices: ['253:4'] })), 'none');
  });

  it('refuses a device holding another filesystem than requested (FAILED_PRECONDITION naming both)', () => {
    assert.throws(() => planStage(stage({ contents: { fsType: 'xfs' } })), rpcError(status.FAILED_PRECONDITION, /holds a xfs filesystem but ext4 was requested.*never formats/));
    assert.throws(() => planStage(stage({ contents: { fsType: 'LVM2_member' } })), rpcError(status.FAILED_PRECONDITION, /LVM2_member/));
  });

  it('refuses a device holding a partition table', () => {
    assert.throws(() => planStage(stage({ contents: { partitionTable: 'gpt' } })), rpcError(status.FAILED_PRECONDITION, /gpt partition table/));
  });

  it('answers ALREADY_EXISTS when another device is mounted at the staging path', () => {
    assert.throws(() => planStage(stage({ stagedDevices: ['8:16'] })), rpcError(status.ALREADY_EXISTS, /another device \(8:16\)/));
  });

  it('stages nothing for a block volume (the device is bound at publish)', () => {
    assert.equal(planStage(stage({ accessType: 'block', contents: { fsType: 'xfs' } })), 'none');
  });
});

describe('csi node: NodePublish decisions', () => {
  it('binds a staged volume onto a free target', () => {
    assert.equal(planPublish(publish({})), 'bind');
  });

  it('does nothing when the target already shows the volume', () => {
    assert.equal(planPublish(publish({ targetDevices: ['253:4'] })), 'none');
  });

  it('answers ALREADY_EXISTS when another device is at the target', () => {
    assert.throws(() => planPublish(publish({ targetDevices: ['7:3'] })), rpcError(status.ALREADY_EXISTS, /another device \(7:3\)/));
  });

  it('refuses to publish a mount volume that is not staged', () => {
    assert.throws(() => planPublish(publish({ stagedDevices: [] })), rpcError(status.FAILED_PRECONDITION, /not staged at \/stage\/pvc-1/));
  });

  it('SINGLE_NODE_SINGLE_WRITER: refuses a second target; other modes allow several', () => {
    assert.throws(() => planPublish(publish({ singleWriter: true, otherPublishes: ['/pods/y/mount'] })), rpcError(status.FAILED_PRECONDITION, /SINGLE_NODE_SINGLE_WRITER and is already published at \/pods\/y\/mount/));
    assert.equal(planPublish(publish({ singleWriter: true, otherPublishes: [] })), 'bind');
    assert.equal(planPublish(publish({ singleWriter: false, otherPublishes: ['/pods/y/mount'] })), 'bind');
    assert.equal(planPublish(publish({ singleWriter: true, otherPublishes: ['/pods/y/mount'], targetDevices: ['253:4'] })), 'none', 'a repeated publish of the same target still succeeds');
  });

  it('binds a block volume without a staged filesystem', () => {
    assert.equal(planPublish(publish({ accessType: 'block', stagedDevices: [] })), 'bind');
  });

  it('adds ro to the flags of a read-only publish, once', () => {
    assert.deepEqual(publishOptions(['noatime'], true), ['noatime', 'ro']);
    assert.deepEqual(publishOptions(['ro'], true), ['ro']);
    assert.deepEqual(publishOptions([], false), []);
  });
});

describe('csi node: command arguments', () => {
  it('mkfs: ext4 without reserved blocks, xfs quiet; never a force flag', () => {
    assert.deepEqual(mkfsCommand('ext4', '/dev/loam-ssd/pvc-1'), { file: 'mkfs.ext4', args: ['-q', '-m', '0', '/dev/loam-ssd/pvc-1'] });
    assert.deepEqual(mkfsCommand('xfs', '/dev/loam-ssd/pvc-1'), { file: 'mkfs.xfs', args: ['-q', '/dev/loam-ssd/pvc-1'] });
    for (const fs of ['ext4', 'xfs'] as const) assert.ok(!mkfsCommand(fs, '/dev/x').args.some((a) => /^-[fF]$/.test(a)));
  });

  it('grow: resize2fs on the device, xfs_growfs on the mount point', () => {
    assert.deepEqual(growCommand('ext4', '/dev/vg/lv', '/stage'), { file: 'resize2fs', args: ['/dev/vg/lv'] });
    assert.deepEqual(growCommand('xfs', '/dev/vg/lv', '/stage'), { file: 'xfs_growfs', args: ['/stage'] });
  });

  it('mount: type, joined options, device, target; bind and read-only remount', () => {
    assert.deepEqual(mountArgs('ext4', '/dev/vg/lv', '/stage', ['noatime', 'discard']), ['-t', 'ext4', '-o', 'noatime,discard', '/dev/vg/lv', '/stage']);
    assert.deepEqual(mountArgs('xfs', '/dev/vg/lv', '/stage', []), ['-t', 'xfs', '/dev/vg/lv', '/stage']);
    assert.deepEqual(bindMountArgs('/stage', '/target', []), ['--bind', '/stage', '/target']);
    assert.deepEqual(remountBindArgs('/target', ['ro']), ['-o', 'remount,bind,ro', '/target']);
  });

  it('mountsAt matches the exact mount point, also with a trailing slash, and keeps stacked mounts', () => {
    const mounts = [
      { dev: '7:1', mountPoint: '/stage/a', source: '/dev/loop1' },
      { dev: '7:2', mountPoint: '/stage/ab', source: '/dev/loop2' },
      { dev: '7:3', mountPoint: '/stage/a', source: '/dev/loop3' },
    ];
    assert.deepEqual(mountsAt(mounts, '/stage/a/').map((m) => m.dev), ['7:1', '7:3']);
    assert.deepEqual(mountsAt(mounts, '/stage'), []);
  });
});

describe('csi node: volume stats', () => {
  it('counts bytes and inodes as df does', () => {
    const usage = usageOfStatfs({ bsize: 4096, blocks: 1000, bfree: 600, bavail: 550, files: 256, ffree: 200 });
    assert.deepEqual(usage, [
      { unit: 'BYTES', total: 4_096_000, used: 1_638_400, available: 2_252_800 },
      { unit: 'INODES', total: 256, used: 56, available: 200 },
    ]);
  });

  it('reads VG and LV out of /dev/<vg>/<lv> only', () => {
    assert.deepEqual(lvOfDevicePath('/dev/loam-ssd/pvc-1'), { vgName: 'loam-ssd', lvName: 'pvc-1' });
    assert.equal(lvOfDevicePath('/dev/loop7'), undefined);
    assert.equal(lvOfDevicePath('/dev/mapper/loam--ssd-pvc--1'), undefined);
  });

  const lv = (over: Partial<LvReport>): LvReport => ({ name: 'pvc-1', vgName: 'loam-ssd', sizeBytes: 1, tags: ['loam.io'], active: true, path: '/dev/loam-ssd/pvc-1', ...over });
  const lvmAnswering = (answer: LvReport | undefined | Error) => ({
    findLv: async (vg: string, name: string) => {
      assert.deepEqual([vg, name], ['loam-ssd', 'pvc-1']);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  });

  it('condition: normal for an active LV, abnormal when missing, inactive or unreadable', async () => {
    assert.deepEqual(await volumeCondition(lvmAnswering(lv({})), '/dev/loam-ssd/pvc-1', true), { abnormal: false, message: 'LV loam-ssd/pvc-1 is active' });
    assert.deepEqual(await volumeCondition(lvmAnswering(undefined), '/dev/loam-ssd/pvc-1', false), { abnormal: true, message: 'LV loam-ssd/pvc-1 does not exist' });
    assert.deepEqual(await volumeCondition(lvmAnswering(lv({ active: false })), '/dev/loam-ssd/pvc-1', false), { abnormal: true, message: 'LV loam-ssd/pvc-1 is not active' });
    const failed = await volumeCondition(lvmAnswering(new Error('lvm lvs failed: locking')), '/dev/loam-ssd/pvc-1', true);
    assert.equal(failed.abnormal, true);
    assert.match(failed.message, /locking/);
  });

  it('condition of a device that is not an LV: by its presence', async () => {
    const noLvm = { findLv: async () => assert.fail('LVM must not be asked about a loop device') };
    assert.equal((await volumeCondition(noLvm, '/dev/loop7', true)).abnormal, false);
    assert.equal((await volumeCondition(noLvm, '/dev/loop7', false)).abnormal, true);
  });
});
