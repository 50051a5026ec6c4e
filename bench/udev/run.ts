/**
 * Benchmark of the udev addon on real kernel uevents (run as root: it makes loop devices).
 *
 * Latency: the time from the syscall that makes the kernel send a uevent returning to the monitor's
 * JavaScript listener running. The kernel queues the uevent on the netlink socket inside that
 * syscall, so this is the addon's own path: event loop wake-up, receive, read sysfs, build the object,
 * call into JavaScript. Three real uevents per cycle: `add` (LOOP_CTL_ADD on /dev/loop-control),
 * `change` (writing "change" to the device's sysfs uevent file) and `remove` (LOOP_CTL_REMOVE).
 * Each is awaited before the next is triggered, so the event loop is idle when it arrives.
 *
 * Also: a burst of back-to-back events (throughput) and enumerateBlockDevices() time.
 *
 *   npm run bench:udev [-- --cycles 100 --burst 200 --enumerations 200]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { enumerateBlockDevices, UdevMonitor, type BlockDeviceAction } from '../../src/ldm/udev.js';
import { EventRecorder, msSince } from '../../test/integration/udev/support/events.js';
import { LoopDevices } from '../../test/integration/udev/support/loop.js';

const TARGET_P99_MS = 20;

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '100' },
    burst: { type: 'string', default: '200' },
    enumerations: { type: 'string', default: '200' },
  },
});
const cycles = Number(values.cycles);
const burst = Number(values.burst);
const enumerations = Number(values.enumerations);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(samples: number[]): { n: number; p50: number; p99: number; max: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length);
  return { n: samples.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN, mean };
}

function line(label: string, samples: number[], unit = 'ms'): string {
  const s = summary(samples);
  const f = (v: number): string => v.toFixed(3);
  return `${label.padEnd(34)} n=${String(s.n).padStart(4)}  p50 ${f(s.p50)} ${unit}  p99 ${f(s.p99)} ${unit}  max ${f(s.max)} ${unit}  mean ${f(s.mean)} ${unit}`;
}

const loops = new LoopDevices();
const monitor = new UdevMonitor({ source: 'kernel' }).start();
const events = new EventRecorder(monitor);
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
});

const afterReturn: Record<BlockDeviceAction, number[]> = { add: [], change: [], remove: [], move: [] };
const fromStart: Record<BlockDeviceAction, number[]> = { add: [], change: [], remove: [], move: [] };

/** Runs trigger (a synchronous syscall), then waits for the event it causes and records both latencies. */
async function measure(action: BlockDeviceAction, sysname: string, trigger: () => void): Promise<void> {
  events.clear();
  const start = process.hrtime.bigint();
  trigger();
  const returned = process.hrtime.bigint();
  const { at } = await events.next(action, sysname, () => true, 2000);
  afterReturn[action].push(msSince(returned, at));
  fromStart[action].push(msSince(start, at));
}

try {
  console.log(`udev benchmark: source ${monitor.source}, subsystem ${monitor.subsystem}, Node ${process.version}`);

  // Latency, one event at a time.
  let index = loops.addNode();
  loops.removeNode(index);
  await events.next('remove', `loop${index}`);
  for (let cycle = 0; cycle < cycles && !interrupted; cycle++) {
    const sysname = `loop${index}`;
    await measure('add', sysname, () => {
      index = loops.addNode(index);
    });
    if (`loop${index}` !== sysname) throw new Error(`loop${index} was created instead of ${sysname} (taken meanwhile)`);
    await measure('change', sysname, () => writeFileSync(`/sys/block/${sysname}/uevent`, 'change'));
    await measure('remove', sysname, () => loops.removeNode(index));
  }
  const all = [...afterReturn.add, ...afterReturn.change, ...afterReturn.remove];

  // Throughput: a burst of synthetic change events written back to back, then drained.
  index = loops.addNode(index);
  const sysname = `loop${index}`;
  await events.next('add', sysname, () => true, 2000);
  events.clear();
  const burstStart = process.hrtime.bigint();
  for (let i = 0; i < burst; i++) writeFileSync(`/sys/block/${sysname}/uevent`, 'change');
  const burstWritten = process.hrtime.bigint();
  const deadline = Date.now() + 5000;
  const burstEvents = (): typeof events.received => events.received.filter((r) => r.event.sysname === sysname && r.event.action === 'change');
  while (burstEvents().length < burst && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
  const burstReceived = burstEvents();
  const burstEnd = burstReceived.at(-1)?.at ?? process.hrtime.bigint();
  loops.removeNode(index);

  // Enumeration.
  enumerateBlockDevices(); // warm-up
  const enumerationMs: number[] = [];
  let deviceCount = 0;
  for (let i = 0; i < enumerations; i++) {
    const start = process.hrtime.bigint();
    deviceCount = enumerateBlockDevices().length;
    enumerationMs.push(msSince(start));
  }

  console.log('\nuevent -> JavaScript listener, from the triggering syscall returning:');
  console.log(line('  add (LOOP_CTL_ADD)', afterReturn.add));
  console.log(line('  change (sysfs uevent write)', afterReturn.change));
  console.log(line('  remove (LOOP_CTL_REMOVE)', afterReturn.remove));
  console.log(line('  all', all));
  console.log('uevent -> JavaScript listener, from the triggering syscall starting (includes the kernel’s own work):');
  console.log(line('  add', fromStart.add));
  console.log(line('  change', fromStart.change));
  console.log(line('  remove', fromStart.remove));
  console.log(
    `\nburst: ${burstReceived.length}/${burst} change events received; written in ${msSince(burstStart, burstWritten).toFixed(1)} ms, ` +
      `last delivered ${msSince(burstStart, burstEnd).toFixed(1)} ms after the first write ` +
      `(${((msSince(burstStart, burstEnd) * 1000) / Math.max(1, burstReceived.length)).toFixed(1)} µs per event)`,
  );
  console.log(`\nenumerateBlockDevices(): ${deviceCount} devices`);
  console.log(line('  enumeration', enumerationMs));

  const p99 = summary(all).p99;
  const met = p99 < TARGET_P99_MS;
  console.log(`\ntarget: uevent -> callback p99 < ${TARGET_P99_MS} ms over >= 200 events: p99 ${p99.toFixed(3)} ms over ${all.length} events — ${met ? 'met' : 'MISSED'}`);
  if (!met || all.length < 200) process.exitCode = 1;
} finally {
  events.detach();
  monitor.stop();
  await loops.cleanup();
}
