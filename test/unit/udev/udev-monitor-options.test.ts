import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultMonitorSource, UdevMonitor, type UdevMonitorOptions } from '../../../src/ldm/udev.js';

describe('defaultMonitorSource', function () {
  let dir: string;
  before(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'loam-udev-unit-'));
  });
  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('is udev where the udevd control socket exists and kernel where it does not', async function () {
    const control = path.join(dir, 'control');
    assert.equal(defaultMonitorSource(control), 'kernel');
    await writeFile(control, '');
    assert.equal(defaultMonitorSource(control), 'udev');
  });
});

describe('UdevMonitor options', function () {
  // Checked before the native addon is touched, so these hold on any machine.
  const make = (options: unknown) => () => new UdevMonitor(options as UdevMonitorOptions);

  it('throws a TypeError naming the option that is wrong', function () {
    assert.throws(make('kernel'), { name: 'TypeError', message: "UdevMonitor: argument 'options' must be an object, got 'kernel'" });
    assert.throws(make(null), { name: 'TypeError', message: "UdevMonitor: argument 'options' must be an object, got null" });
    assert.throws(make({ source: 5 }), {
      name: 'TypeError',
      message: "UdevMonitor: 'options.source' must be 'udev', 'kernel' or 'auto', got 5",
    });
    assert.throws(make({ source: 'netlink' }), {
      name: 'TypeError',
      message: "UdevMonitor: 'options.source' must be 'udev', 'kernel' or 'auto', got 'netlink'",
    });
    assert.throws(make({ subsystem: ['block'] }), {
      name: 'TypeError',
      message: "UdevMonitor: 'options.subsystem' must be a non-empty string, got an array",
    });
    assert.throws(make({ subsystem: '' }), { name: 'TypeError', message: "UdevMonitor: 'options.subsystem' must be a non-empty string, got ''" });
    for (const [value, shown] of [[0, '0'], [1.5, '1.5'], [2 ** 31, '2147483648'], ['64k', "'64k'"]] as const) {
      assert.throws(make({ receiveBufferBytes: value }), {
        name: 'TypeError',
        message: `UdevMonitor: 'options.receiveBufferBytes' must be an integer from 1 to 2^31-1, got ${shown}`,
      });
    }
  });
});
