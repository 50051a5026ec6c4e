import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readHolders, readPartitionNumbers, readPartitions, readSysfsIdentity, refreshedDevice } from '../../../src/ldm/sysfs.js';
import type { BlockDevice } from '../../../src/ldm/udev-types.js';

/** A small fake of /sys/class/block in a temporary folder. */
async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'loam-sysfs-'));
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), content);
  }
  return root;
}

describe('sysfs readers', function () {
  let root = '';
  afterEach(async function () {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('finds partitions, their numbers and the holders of a disk and its partitions', async function () {
    root = await tree({
      'sdb/size': '2048\n', 'sdb/sdb1/partition': '1\n', 'sdb/sdb1/dev': '8:17\n', 'sdb/sdb2/partition': '2\n', 'sdb/sdb2/dev': '8:18\n',
      'sdb/sdb2/holders/dm-3': '', 'sdb/holders/md127': '', 'sdb/queue/rotational': '1\n',
    });
    assert.deepEqual(readPartitions('sdb', root).sort(), ['sdb1', 'sdb2']);
    assert.deepEqual(readPartitionNumbers('sdb', root).sort(), ['8:17', '8:18']);
    assert.deepEqual(readHolders('sdb', root).sort(), ['dm-3', 'md127']);
  });

  it('reads identity attributes, preferring the disk\'s own over its device\'s', async function () {
    root = await tree({ 'nvme0n1/wwid': 'eui.0025\n', 'nvme0n1/device/serial': ' S4EWNX0R  \n', 'nvme0n1/device/model': 'Samsung SSD 980\n' });
    const id = readSysfsIdentity('nvme0n1', root);
    assert.equal(id.wwid, 'eui.0025');
    assert.equal(id.serial, 'S4EWNX0R');
    assert.equal(id.model, 'Samsung SSD 980');
    assert.equal(id.transport, 'nvme');
  });

  it('re-reads a device seen in a uevent, or says it is gone', async function () {
    root = await tree({ 'loop7/size': '4096\n', 'loop7/queue/rotational': '0\n', 'loop7/ro': '0\n', 'loop7/removable': '0\n', 'loop7/loop/backing_file': '/tmp/x.img\n' });
    const seen = { sysname: 'loop7', sizeBytes: 0, sizeSectors: 0, rotational: true, loopBackingFile: null } as unknown as BlockDevice;
    const d = refreshedDevice(seen, root);
    assert.deepEqual([d?.sizeBytes, d?.rotational, d?.loopBackingFile, d?.readOnly], [4096 * 512, false, '/tmp/x.img', false]);
    assert.equal(refreshedDevice({ ...seen, sysname: 'loop8' }, root), undefined);
  });
});
