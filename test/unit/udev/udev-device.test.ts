import assert from 'node:assert/strict';
import { toBlockDevice, toBlockDeviceEvent } from '../../../src/ldm/udev-device.js';
import type { RawDevice } from '../../../src/ldm/udev-native.js';

function raw(overrides: Partial<RawDevice> = {}): RawDevice {
  return {
    syspath: '/sys/devices/virtual/block/loop3',
    sysname: 'loop3',
    devnode: '/dev/loop3',
    devtype: 'disk',
    subsystem: 'block',
    action: null,
    major: 7,
    minor: 3,
    seqnum: null,
    initialized: false,
    properties: { DEVNAME: '/dev/loop3', DEVTYPE: 'disk', MAJOR: '7', MINOR: '3' },
    sysattrs: { size: '131072', 'queue/rotational': '0', removable: '0', ro: '1', 'loop/backing_file': '/tmp/disk.img' },
    ...overrides,
  };
}

describe('toBlockDevice', function () {
  it('types the sysfs attributes: size in sectors and bytes, flags as booleans', function () {
    const device = toBlockDevice(raw());
    assert.deepEqual(
      {
        sizeSectors: device.sizeSectors,
        sizeBytes: device.sizeBytes,
        rotational: device.rotational,
        removable: device.removable,
        readOnly: device.readOnly,
        loopBackingFile: device.loopBackingFile,
      },
      { sizeSectors: 131072, sizeBytes: 64 * 1024 * 1024, rotational: false, removable: false, readOnly: true, loopBackingFile: '/tmp/disk.img' },
    );
    assert.equal(device.properties['DEVTYPE'], 'disk');
    assert.equal(device.devnode, '/dev/loop3');
  });

  it('gives null for attributes sysfs does not have or that do not parse', function () {
    const device = toBlockDevice(
      raw({ sysattrs: { size: null, 'queue/rotational': null, removable: 'maybe', ro: '', 'loop/backing_file': '' } }),
    );
    assert.deepEqual(
      [device.sizeSectors, device.sizeBytes, device.rotational, device.removable, device.readOnly, device.loopBackingFile],
      [null, null, null, null, null, null],
    );
    assert.equal(toBlockDevice(raw({ sysattrs: { size: '-5' } })).sizeSectors, null);
    assert.equal(toBlockDevice(raw({ sysattrs: { size: '99999999999999999999' } })).sizeSectors, null, 'beyond 2^53: not exact');
    assert.equal(toBlockDevice(raw({ sysattrs: {} })).rotational, null);
  });

  it('rejects a record without syspath or sysname', function () {
    assert.throws(() => toBlockDevice(raw({ syspath: null })), /without syspath or sysname/);
    assert.throws(() => toBlockDevice(raw({ sysname: null })), /without syspath or sysname/);
  });
});

describe('toBlockDeviceEvent', function () {
  it('keeps the four block device actions with their seqnum', function () {
    for (const action of ['add', 'change', 'remove', 'move'] as const) {
      const event = toBlockDeviceEvent(raw({ action, seqnum: 4242 }));
      assert.equal(event?.action, action);
      assert.equal(event?.seqnum, 4242);
    }
  });

  it('drops actions a block device listener does not handle, and records without an action', function () {
    assert.equal(toBlockDeviceEvent(raw({ action: 'bind' })), null);
    assert.equal(toBlockDeviceEvent(raw({ action: null })), null);
  });
});
