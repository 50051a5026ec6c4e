import assert from 'node:assert/strict';
import { notACandidate } from '../../../src/ldm/candidates.js';
import { diskIdentity } from '../../../src/ldm/identity.js';
import { mediaClass } from '../../../src/ldm/media.js';
import type { BlockDevice } from '../../../src/ldm/udev-types.js';

function dev(over: Partial<BlockDevice>): BlockDevice {
  return {
    syspath: '/sys/devices/pci0000:00/0000:00:05.0/virtio2/block/vdb', sysname: 'vdb', devnode: '/dev/vdb', devtype: 'disk', subsystem: 'block',
    major: 252, minor: 16, seqnum: null, initialized: false, properties: {}, sizeSectors: 2048, sizeBytes: 1048576, rotational: false, removable: false,
    readOnly: false, loopBackingFile: null, ...over,
  };
}

describe('diskIdentity', function () {
  it('prefers the WWN from udev', function () {
    const r = diskIdentity(dev({ properties: { ID_WWN_WITH_EXTENSION: '0x5000c500a1b2c3d4', ID_SERIAL_SHORT: 'S1', ID_MODEL: 'M', ID_VENDOR: 'V', ID_PATH: 'pci-0000:00:05.0', DEVLINKS: '/dev/disk/by-id/wwn-0x5000c500a1b2c3d4 /dev/disk/by-path/pci-0000:00:05.0' } }), {});
    assert.equal(r?.stableId, 'wwn:0x5000c500a1b2c3d4');
    assert.deepEqual(r?.identity, { wwn: '0x5000c500a1b2c3d4', serial: 'S1', model: 'M', vendor: 'V', byIdPath: '/dev/disk/by-id/wwn-0x5000c500a1b2c3d4', byPath: '/dev/disk/by-path/pci-0000:00:05.0' });
  });
  it('falls back to sysfs wwid without udev', function () {
    assert.equal(diskIdentity(dev({}), { wwid: 'eui.0025388b71b0a1b2', serial: 'X' })?.stableId, 'wwn:eui.0025388b71b0a1b2');
  });
  it('uses vendor+model+serial when there is no WWN', function () {
    assert.equal(diskIdentity(dev({}), { serial: 'ABC 123 ', model: 'QEMU  HARDDISK', vendor: 'QEMU' })?.stableId, 'serial:QEMU|QEMU HARDDISK|ABC 123');
  });
  it('uses the by-path link, else the device path in sysfs, when there is no serial', function () {
    assert.equal(diskIdentity(dev({ properties: { ID_PATH: 'pci-0000:00:05.0' } }), {})?.stableId, 'path:/dev/disk/by-path/pci-0000:00:05.0');
    assert.equal(diskIdentity(dev({}), { devicePath: 'pci0000:00/0000:00:05.0/virtio2/block/vdb' })?.stableId, 'path:pci0000:00/0000:00:05.0/virtio2/block/vdb');
  });
  it('has nothing stable for a virtual device without serial', function () {
    assert.equal(diskIdentity(dev({}), { devicePath: 'virtual/block/ram0' }), null);
  });
  it('identifies a loop device by its backing file, also after the file was deleted', function () {
    assert.equal(diskIdentity(dev({ sysname: 'loop3', loopBackingFile: '/tmp/a.img' }), {})?.stableId, 'loop:/tmp/a.img');
    assert.equal(diskIdentity(dev({ sysname: 'loop3', loopBackingFile: '/tmp/a.img (deleted)' }), {})?.stableId, 'loop:/tmp/a.img');
    assert.equal(diskIdentity(dev({ sysname: 'loop3', loopBackingFile: null }), {}), null);
  });
});

describe('mediaClass', function () {
  it('NVMe by transport or name, else HDD when rotational, else SSD', function () {
    assert.equal(mediaClass(dev({ sysname: 'nvme0n1' })), 'NVMe');
    assert.equal(mediaClass(dev({ properties: { ID_BUS: 'nvme' } })), 'NVMe');
    assert.equal(mediaClass(dev({}), 'nvme'), 'NVMe');
    assert.equal(mediaClass(dev({ rotational: true })), 'HDD');
    assert.equal(mediaClass(dev({ rotational: false })), 'SSD');
  });
});

describe('notACandidate', function () {
  const opts = { includeLoop: false };
  it('takes whole disks with a size', function () {
    assert.equal(notACandidate(dev({}), opts), null);
  });
  it('skips partitions, virtual and stacked devices, and empty drives', function () {
    assert.equal(notACandidate(dev({ devtype: 'partition' }), opts), 'not a whole disk');
    for (const sysname of ['ram0', 'zram0', 'dm-0', 'md127', 'drbd1000', 'nbd0', 'rbd0', 'sr0']) assert.equal(notACandidate(dev({ sysname }), opts), 'virtual or stacked device', sysname);
    assert.equal(notACandidate(dev({ sizeBytes: 0 }), opts), 'size 0 (no medium)');
  });
  it('skips loop devices unless told, and unattached ones always', function () {
    const loop = dev({ sysname: 'loop2', loopBackingFile: '/tmp/x.img' });
    assert.match(notACandidate(loop, opts)!, /--include-loop/);
    assert.equal(notACandidate(loop, { includeLoop: true }), null);
    assert.equal(notACandidate(dev({ sysname: 'loop2' }), { includeLoop: true }), 'loop device without a backing file');
  });
});
