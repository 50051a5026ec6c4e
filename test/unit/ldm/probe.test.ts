import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseBlkidExport, parseMountinfo, parseSwaps, probeDisk } from '../../../src/ldm/probe.js';
import { assessSafety } from '../../../src/ldm/safety.js';
import type { BlockDevice } from '../../../src/ldm/udev-types.js';

describe('probe parsers', function () {
  it('reads blkid -o export', function () {
    assert.deepEqual(parseBlkidExport('DEVNAME=/dev/loop3\nUUID=1234-abcd\nBLOCK_SIZE=4096\nTYPE=ext4\nUSAGE=filesystem\n'), {
      DEVNAME: '/dev/loop3', UUID: '1234-abcd', BLOCK_SIZE: '4096', TYPE: 'ext4', USAGE: 'filesystem',
    });
    assert.deepEqual(parseBlkidExport('PTUUID=abc\nPTTYPE=gpt\n'), { PTUUID: 'abc', PTTYPE: 'gpt' });
  });
  it('reads /proc/self/mountinfo, with optional fields and escaped spaces', function () {
    const text = [
      '22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
      '98 22 7:3 / /mnt/my\\040disk ro,relatime shared:40 master:2 - ext4 /dev/loop3 ro',
      '',
    ].join('\n');
    assert.deepEqual(parseMountinfo(text), [
      { dev: '252:1', mountPoint: '/', source: '/dev/vda1' },
      { dev: '7:3', mountPoint: '/mnt/my disk', source: '/dev/loop3' },
    ]);
  });
  it('reads /proc/swaps', function () {
    const text = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/loop5                              partition\t65532\t\t0\t\t-2\n/swapfile file 1024 0 -3\n';
    assert.deepEqual(parseSwaps(text), ['/dev/loop5', '/swapfile']);
    assert.deepEqual(parseSwaps('Filename\tType\tSize\tUsed\tPriority\n'), []);
  });
});

describe('probeDisk', function () {
  const tables = { mounts: [], swaps: [] };
  function device(devnode: string): BlockDevice {
    return {
      syspath: '/sys/devices/virtual/block/loam-test', sysname: 'loam-test-none', devnode, devtype: 'disk', subsystem: 'block', major: 7, minor: 999,
      seqnum: null, initialized: false, properties: {}, sizeSectors: 2048, sizeBytes: 1048576, rotational: false, removable: false, readOnly: false, loopBackingFile: null,
    };
  }
  let dir = '';
  afterEach(async function () {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('treats a device it cannot read as unsafe, not as empty (blkid says "nothing found" for both)', async function () {
    const facts = await probeDisk(device('/nonexistent/loam-disk'), tables);
    assert.match(facts.probeError ?? '', /cannot read \/nonexistent\/loam-disk/);
  });

  it('keeps what it found when the device cannot be read: its mounts and partitions from the tables (item 13)', async function () {
    const dev = { ...device('/nonexistent/loam-root'), major: 8, minor: 0 };
    const facts = await probeDisk(dev, { mounts: [{ dev: '8:0', mountPoint: '/', source: '/dev/sda' }], swaps: [] });
    assert.match(facts.probeError ?? '', /cannot read \/nonexistent\/loam-root/);
    assert.deepEqual(facts.mounts, ['/']);
    assert.equal(assessSafety(facts).reason, 'is mounted at /');
  });

  it('finds nothing on a zeroed image, and nothing changes in it', async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'loam-probe-'));
    const file = path.join(dir, 'zero.img');
    await writeFile(file, Buffer.alloc(1024 * 1024));
    const facts = await probeDisk(device(file), tables);
    assert.deepEqual(facts, { partitions: [], holders: [], mounts: [], activeSwap: false });
    assert.ok((await readFile(file)).every((b) => b === 0), 'the image is still all zeroes');
  });

  it('reads a signature with blkid (a swap header written by hand)', async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'loam-probe-'));
    const file = path.join(dir, 'swap.img');
    const image = Buffer.alloc(1024 * 1024);
    // A swap area v1: "SWAPSPACE2" at the end of the first 4 KiB page, version 1, last page number.
    image.write('SWAPSPACE2', 4096 - 10, 'ascii');
    image.writeUInt32LE(1, 1024);
    image.writeUInt32LE(255, 1028);
    await writeFile(file, image);
    const facts = await probeDisk(device(file), tables);
    assert.equal(facts.signature, 'swap');
  });
});
