/**
 * CPU load of running VMs over a time window: each QEMU's CPU time used (as a share of one host
 * core) and the host's load average at the end, for the figures the tier reports.
 */
import { readFile } from 'node:fs/promises';
import type { Vm } from './vm.js';

export interface LoadSample {
  seconds: number;
  /** Per VM: CPU seconds used in the window divided by the window (1.0 = one host core busy). */
  cores: Record<string, number>;
  /** The host's 1-minute load average at the end of the window. */
  loadAverage1m: number;
}

/** Measures CPU use of `vms` while `during` runs. */
export async function measureLoad<T>(vms: Vm[], during: () => Promise<T>): Promise<{ result: T; load: LoadSample }> {
  const before = await Promise.all(vms.map((vm) => vm.cpuSeconds()));
  const started = Date.now();
  const result = await during();
  const after = await Promise.all(vms.map((vm) => vm.cpuSeconds()));
  const seconds = (Date.now() - started) / 1000;
  const cores: Record<string, number> = {};
  vms.forEach((vm, i) => { cores[vm.name] = ((after[i] ?? 0) - (before[i] ?? 0)) / seconds; });
  const loadAverage1m = Number((await readFile('/proc/loadavg', 'utf8')).split(' ')[0]);
  return { result, load: { seconds, cores, loadAverage1m } };
}

/** One line for the figures: "node-a 0.93 cores, node-b 0.88 cores over 12.1 s; load average 1.9". */
export function describeLoad(load: LoadSample): string {
  const per = Object.entries(load.cores).map(([name, c]) => `${name} ${c.toFixed(2)} cores`).join(', ');
  return `${per} over ${load.seconds.toFixed(1)} s; host load average (1 min) ${load.loadAverage1m.toFixed(2)}`;
}
