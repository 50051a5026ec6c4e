/** Wrong arguments to the native addon throw TypeErrors that name the argument; nothing aborts. */
import assert from 'node:assert/strict';
import { defaultMonitorSource, UdevMonitor } from '../../../src/ldm/udev.js';
import { udevAddon } from '../../../src/ldm/udev-native.js';

function typeError(pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof TypeError && pattern.test(error.message);
}

describe('loam_udev addon arguments', function () {
  const addon = udevAddon();

  it('enumerate() names the wrong argument', function () {
    const call = addon.enumerate as (...args: unknown[]) => unknown;
    assert.throws(() => call(5, []), typeError(/^argument 'subsystem' must be a string or null, got a number$/));
    assert.throws(() => call('block', 'size'), typeError(/^argument 'sysattrs' must be an array of strings, got a string$/));
    assert.throws(() => call('block', ['size', 1]), typeError(/^argument 'sysattrs\[1\]' must be a string, got a number$/));
    assert.throws(() => call('block'), typeError(/^argument 'sysattrs' must be an array of strings, got undefined$/));
  });

  it('enumerate() of a subsystem with no devices is empty, not an error', function () {
    assert.deepEqual(addon.enumerate('no-such-subsystem', []), []);
  });

  it('Monitor names the wrong argument', function () {
    const Monitor = addon.Monitor as unknown as new (...args: unknown[]) => { start(f: unknown): void; stop(): void };
    assert.throws(() => new Monitor(1, 'block', []), typeError(/^argument 'source' must be a string, got a number$/));
    assert.throws(() => new Monitor('netlink', 'block', []), typeError(/^argument 'source' must be 'udev' or 'kernel', got 'netlink'$/));
    assert.throws(() => new Monitor('kernel', 7, []), typeError(/^argument 'subsystem' must be a string or null, got a number$/));
    assert.throws(() => new Monitor('kernel', 'block', null), typeError(/^argument 'sysattrs' must be an array of strings, got null$/));
    assert.throws(() => (Monitor as unknown as (...args: unknown[]) => unknown)('kernel', 'block', []), TypeError);
    assert.throws(() => new Monitor('kernel', 'block', [], '1M'), typeError(/^argument 'receiveBufferBytes' must be an integer from 1 to 2\^31-1$/));
    assert.throws(() => new Monitor('kernel', 'block', [], -1), typeError(/^argument 'receiveBufferBytes' must be/));
    const monitor = new Monitor('kernel', 'block', []);
    assert.throws(() => monitor.start('not a function'), typeError(/^argument 'onEvent' must be a function, got a string$/));
    monitor.stop(); // never started: a no-op
  });

  it('UdevMonitor picks the default source and the block subsystem when not told', function () {
    const monitor = new UdevMonitor();
    assert.equal(monitor.source, defaultMonitorSource());
    assert.equal(monitor.subsystem, 'block');
    assert.equal(monitor.active, false);
  });
});
