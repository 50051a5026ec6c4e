import assert from 'node:assert/strict';
import type { SafetyFacts } from '../../../src/ldm/probe.js';
import { assessSafety } from '../../../src/ldm/safety.js';

const empty: SafetyFacts = { partitions: [], holders: [], mounts: [], activeSwap: false };

describe('assessSafety', function () {
  it('calls an empty disk safe', function () {
    assert.deepEqual(assessSafety(empty), { safe: true });
  });

  const cases: Array<[string, Partial<SafetyFacts>, string, string]> = [
    ['gpt table', { partitionTable: 'gpt' }, 'has a partition table (gpt)', 'Partitioned'],
    ['dos table', { partitionTable: 'dos' }, 'has a partition table (dos)', 'Partitioned'],
    ['partitions only', { partitions: ['sdb1'] }, 'has partitions', 'Partitioned'],
    ['ext4', { signature: 'ext4' }, 'holds a filesystem (ext4)', 'HasFilesystem'],
    ['xfs', { signature: 'xfs' }, 'holds a filesystem (xfs)', 'HasFilesystem'],
    ['LVM PV', { signature: 'LVM2_member' }, 'holds an LVM physical volume', 'HasLVM'],
    ['md member', { signature: 'linux_raid_member' }, 'holds a RAID member (linux_raid_member)', 'HasRAID'],
    ['LUKS', { signature: 'crypto_LUKS' }, 'holds encrypted data (crypto_LUKS)', 'HasEncryption'],
    ['inactive swap', { signature: 'swap' }, 'holds a swap signature', 'HasFilesystem'],
    ['active swap', { signature: 'swap', activeSwap: true }, 'is active swap', 'ActiveSwap'],
    ['mount', { signature: 'ext4', mounts: ['/mnt/a', '/mnt/b'] }, 'is mounted at /mnt/a', 'Mounted'],
    ['holders', { signature: 'LVM2_member', holders: ['dm-0', 'dm-1'] }, 'is held by dm-0, dm-1', 'HasHolders'],
    ['failed probe, nothing else known', { probeError: 'blkid: boom' }, 'could not be probed (see the node agent log)', 'ProbeFailed'],
    ['kernel refused exclusive access', { busy: true }, 'is in use (the kernel refused exclusive access: mounted or claimed elsewhere)', 'InUse'],
    // A probe that failed in part still names what it found (item 13).
    ['root disk whose probe failed in part', { partitions: ['sda1', 'sda2'], mounts: ['/'], probeError: 'blkid: boom' }, 'is mounted at /', 'Mounted'],
    ['partitions, probe failed', { partitions: ['sdb1'], probeError: 'cannot read /dev/sdb' }, 'has partitions', 'Partitioned'],
    ['holders, probe failed', { holders: ['dm-3'], probeError: 'cannot read /dev/sdb' }, 'is held by dm-3', 'HasHolders'],
    ['busy, probe failed', { busy: true, probeError: 'blkid timed out' }, 'is in use (the kernel refused exclusive access: mounted or claimed elsewhere)', 'InUse'],
    ['swap, probe failed', { activeSwap: true, probeError: 'blkid: boom' }, 'is active swap', 'ActiveSwap'],
  ];
  for (const [what, facts, reason, code] of cases) {
    it(`${what} → "${reason}"`, function () {
      assert.deepEqual(assessSafety({ ...empty, ...facts }), { safe: false, reason, code });
    });
  }

  it('reports what is in use before what is written (mount over partition table)', function () {
    assert.equal(assessSafety({ ...empty, partitionTable: 'gpt', mounts: ['/data'] }).reason, 'is mounted at /data');
  });
});
