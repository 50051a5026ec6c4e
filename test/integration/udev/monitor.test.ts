/**
 * UdevMonitor and enumerateBlockDevices against real loop devices on this host. No udevd runs here,
 * so the monitors listen to the kernel source; the events are the kernel's own.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync } from 'node:fs';
import { defaultMonitorSource, enumerateBlockDevices, UdevMonitor, type BlockDevice, type BlockDeviceEvent } from '../../../src/ldm/udev.js';
import { EventRecorder, msSince } from './support/events.js';
import { devNumbers, LoopDevices } from './support/loop.js';

const MiB = 1024 * 1024;

function listed(sysname: string): BlockDevice | undefined {
  return enumerateBlockDevices().find((d) => d.sysname === sysname);
}

describe('UdevMonitor on real loop devices (kernel uevents)', function () {
  let loops: LoopDevices;
  let monitor: UdevMonitor;
  let events: EventRecorder;

  beforeEach(function () {
    loops = new LoopDevices();
    monitor = new UdevMonitor({ source: 'kernel' }).start();
    events = new EventRecorder(monitor);
  });

  afterEach(async function () {
    events.detach();
    monitor.stop();
    await loops.cleanup();
  });

  it('reports add, change on attach and detach, and remove for exactly that loop device within 1 s, and enumeration follows', async function () {
    const file = await loops.sparseFile(64 * MiB);
    const timeline: BlockDeviceEvent[] = [];
    for (const action of ['add', 'change', 'remove', 'move'] as const) monitor.on(action, (e) => timeline.push(e));

    let start = process.hrtime.bigint();
    const index = loops.addNode();
    const sysname = `loop${index}`;
    const added = await events.next('add', sysname);
    assert.ok(msSince(start, added.at) < 1000);
    const { major, minor } = devNumbers(sysname);
    assert.deepEqual(
      {
        syspath: added.event.syspath,
        devnode: added.event.devnode,
        devtype: added.event.devtype,
        subsystem: added.event.subsystem,
        major: added.event.major,
        minor: added.event.minor,
        sizeBytes: added.event.sizeBytes,
        loopBackingFile: added.event.loopBackingFile,
      },
      {
        syspath: `/sys/devices/virtual/block/${sysname}`,
        devnode: `/dev/${sysname}`,
        devtype: 'disk',
        subsystem: 'block',
        major,
        minor,
        sizeBytes: 0,
        loopBackingFile: null,
      },
    );
    assert.equal(added.event.properties['DEVNAME'], `/dev/${sysname}`);
    assert.equal(typeof added.event.seqnum, 'number');
    assert.equal(listed(sysname)?.sizeBytes, 0, 'enumeration lists the new, empty loop device');

    events.clear();
    start = process.hrtime.bigint();
    await loops.attach(`/dev/${sysname}`, file);
    const attached = await events.next('change', sysname, (e) => e.sizeBytes === 64 * MiB);
    assert.ok(msSince(start, attached.at) < 1000);
    assert.equal(attached.event.sizeSectors, (64 * MiB) / 512);
    assert.equal(attached.event.loopBackingFile, file);
    assert.equal(attached.event.readOnly, false);
    assert.equal(attached.event.removable, false);
    assert.equal(typeof attached.event.rotational, 'boolean');
    const enumerated = listed(sysname);
    assert.equal(enumerated?.sizeBytes, 64 * MiB);
    assert.equal(enumerated?.loopBackingFile, file);
    assert.equal(enumerated?.devnode, `/dev/${sysname}`);
    assert.equal(enumerated?.seqnum, null);

    events.clear();
    start = process.hrtime.bigint();
    await loops.detach(`/dev/${sysname}`);
    const detached = await events.next('change', sysname, (e) => e.sizeBytes === 0);
    assert.ok(msSince(start, detached.at) < 1000);
    assert.equal(detached.event.loopBackingFile, null);

    events.clear();
    start = process.hrtime.bigint();
    loops.removeNode(index);
    const removed = await events.next('remove', sysname);
    assert.ok(msSince(start, removed.at) < 1000);
    assert.equal(removed.event.devnode, `/dev/${sysname}`);
    assert.equal(removed.event.major, major);
    assert.equal(removed.event.minor, minor);
    assert.equal(removed.event.sizeBytes, null, 'a removed device has no sysfs attributes left');
    assert.equal(listed(sysname), undefined, 'enumeration no longer lists the removed device');

    // In order and nothing else: add, the changes of attach and detach, remove, with rising sequence numbers.
    const forDevice = timeline.filter((e) => e.sysname === sysname);
    const actions = forDevice.map((e) => e.action).join(' ');
    assert.match(actions, /^add( change)+ remove$/, actions);
    const seqnums = forDevice.map((e) => e.seqnum ?? NaN);
    assert.deepEqual(seqnums, [...seqnums].sort((a, b) => a - b), 'events arrive in kernel order');
    assert.equal(new Set(seqnums).size, seqnums.length, 'no event is delivered twice');
  });

  it('sees the change of the device losetup --find picks, with its size', async function () {
    const file = await loops.sparseFile(48 * MiB);
    const start = process.hrtime.bigint();
    const device = await loops.attachAnywhere(file);
    const sysname = device.replace('/dev/', '');
    const attached = await events.next('change', sysname, (e) => e.sizeBytes === 48 * MiB);
    assert.ok(msSince(start, attached.at) < 1000);
    assert.equal(attached.event.devnode, device);
    assert.equal(attached.event.loopBackingFile, file);
    assert.equal(listed(sysname)?.sizeBytes, 48 * MiB);

    events.clear();
    await loops.detach(device);
    const detached = await events.next('change', sysname, (e) => e.sizeBytes === 0);
    assert.equal(detached.event.devnode, device);
  });

  it('delivers one event to every running monitor, none to a stopped one; start and stop are idempotent', async function () {
    const second = new UdevMonitor({ source: 'kernel' });
    const secondEvents = new EventRecorder(second);
    second.start().start();
    assert.equal(second.active, true);
    const stopped = new UdevMonitor({ source: 'kernel' }).start();
    stopped.stop().stop();
    assert.equal(stopped.active, false);
    const stoppedEvents = new EventRecorder(stopped);
    try {
      const index = loops.addNode();
      const [a, b] = await Promise.all([events.next('add', `loop${index}`), secondEvents.next('add', `loop${index}`)]);
      assert.equal(a.event.seqnum, b.event.seqnum, 'both monitors report the same kernel event');
      assert.equal(secondEvents.received.filter((r) => r.event.sysname === `loop${index}`).length, 1);

      // Restarted after a stop, a monitor works again.
      second.stop();
      second.start();
      loops.removeNode(index);
      await secondEvents.next('remove', `loop${index}`);
      assert.equal(stoppedEvents.received.length, 0, 'a stopped monitor reports nothing');
    } finally {
      second.stop();
      stopped.stop();
    }
  });

  it('filters by subsystem: a bdi monitor sees the loop node’s bdi device and no block device', async function () {
    const bdi = new UdevMonitor({ source: 'kernel', subsystem: 'bdi' });
    const subsystems: string[] = [];
    bdi.on('add', (e) => subsystems.push(`${e.subsystem}:${e.sysname}`));
    bdi.start();
    try {
      const index = loops.addNode();
      await events.next('add', `loop${index}`);
      const { major, minor } = devNumbers(`loop${index}`);
      const deadline = Date.now() + 1000;
      while (!subsystems.includes(`bdi:${major}:${minor}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.ok(subsystems.includes(`bdi:${major}:${minor}`), `bdi monitor saw ${JSON.stringify(subsystems)}`);
      assert.deepEqual(subsystems.filter((s) => !s.startsWith('bdi:')), []);
      assert.deepEqual(events.received.filter((r) => r.event.subsystem !== 'block'), [], 'the block monitor saw only block devices');
    } finally {
      bdi.stop();
    }
  });

  it('with source udev, reports devices only once udevd has processed them (none where no udevd runs)', async function () {
    const udev = new UdevMonitor({ source: 'udev' });
    const udevEvents = new EventRecorder(udev);
    udev.start();
    try {
      const index = loops.addNode();
      await events.next('add', `loop${index}`);
      if (defaultMonitorSource() === 'udev') {
        const { event } = await udevEvents.next('add', `loop${index}`, () => true, 5000);
        assert.equal(event.initialized, true, 'udevd has processed the device');
      } else {
        // libudev does not subscribe to udev events without udevd, so the kernel's event must not show up here.
        await new Promise((r) => setTimeout(r, 300));
        assert.deepEqual(udevEvents.received, []);
      }
    } finally {
      udevEvents.detach();
      udev.stop();
    }
  });

  it('reports lost events as overflow when the socket buffer overflows, and keeps delivering afterwards', async function () {
    const small = new UdevMonitor({ source: 'kernel', receiveBufferBytes: 64 * 1024 });
    const smallEvents = new EventRecorder(small);
    const overflows: (Error & { code?: string })[] = [];
    small.on('overflow', (error) => overflows.push(error));
    small.start();
    try {
      const index = loops.addNode();
      const sysname = `loop${index}`;
      await smallEvents.next('add', sysname);

      // While this thread writes, nothing reads the socket: 2,000 uevents cannot fit in 64 KiB.
      const written = 2000;
      const fd = openSync(`/sys/block/${sysname}/uevent`, 'w');
      try {
        for (let i = 0; i < written; i++) writeSync(fd, 'change');
      } finally {
        closeSync(fd);
      }
      const changes = (): number => smallEvents.received.filter((r) => r.event.sysname === sysname && r.event.action === 'change').length;
      for (let last = -1, deadline = Date.now() + 10_000; changes() !== last && Date.now() < deadline; ) {
        last = changes();
        await new Promise((r) => setTimeout(r, 200));
      }

      assert.ok(overflows.length >= 1, 'the loss is reported');
      assert.equal(overflows[0]?.code, 'ENOBUFS');
      assert.match(overflows[0]?.message ?? '', /uevents lost/);
      assert.ok(changes() > 0 && changes() < written, `received ${changes()} of ${written} change events`);
      assert.equal(small.active, true);
      loops.removeNode(index);
      await smallEvents.next('remove', sysname);
    } finally {
      smallEvents.detach();
      small.stop();
    }
  });

  it('costs no CPU while idle and leaves the event loop free', async function () {
    const before = process.cpuUsage();
    const timerStart = process.hrtime.bigint();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    await new Promise((r) => setTimeout(r, 1000));
    clearInterval(ticker);
    const used = process.cpuUsage(before);
    const cpuMs = (used.user + used.system) / 1000;
    assert.ok(cpuMs < 150, `an idle monitor used ${cpuMs.toFixed(1)} ms of CPU in 1 s`);
    assert.ok(ticks >= 50, `a 10 ms timer ran only ${ticks} times in ${msSince(timerStart).toFixed(0)} ms`);
  });
});

describe('enumerateBlockDevices', function () {
  it('lists every block device in /sys/class/block with devnode, numbers and size', async function () {
    const { readdir, readFile } = await import('node:fs/promises');
    // Other work on this host may add or remove loop devices meanwhile: compare a quiet snapshot.
    let devices = enumerateBlockDevices();
    let inSysfs = (await readdir('/sys/class/block')).sort();
    for (let attempt = 0; attempt < 5 && devices.map((d) => d.sysname).sort().join() !== inSysfs.join(); attempt++) {
      await new Promise((r) => setTimeout(r, 100));
      devices = enumerateBlockDevices();
      inSysfs = (await readdir('/sys/class/block')).sort();
    }
    assert.deepEqual(devices.map((d) => d.sysname).sort(), inSysfs);
    for (const device of devices) {
      const size = Number((await readFile(`/sys/class/block/${device.sysname}/size`, 'utf8').catch(() => 'NaN')).trim());
      if (Number.isNaN(size)) continue; // vanished since the listing
      assert.equal(device.subsystem, 'block');
      assert.ok(device.devtype === 'disk' || device.devtype === 'partition', `${device.sysname}: devtype ${device.devtype}`);
      assert.equal(device.devnode, `/dev/${device.sysname}`);
      assert.deepEqual({ major: device.major, minor: device.minor }, devNumbers(device.sysname));
      assert.equal(device.properties['DEVTYPE'], device.devtype);
      assert.equal(typeof device.sizeSectors, 'number');
      assert.equal(device.sizeBytes, (device.sizeSectors ?? NaN) * 512);
      // Loop devices may be resized by other work at any moment; every other device must match sysfs exactly.
      if (!device.sysname.startsWith('loop')) assert.equal(device.sizeSectors, size, `${device.sysname}: size`);
      if (device.devtype === 'disk') assert.equal(typeof device.rotational, 'boolean', `${device.sysname}: rotational`);
    }
  });
});
