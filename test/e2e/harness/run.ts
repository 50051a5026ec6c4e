/**
 * The state of one e2e run: a temp folder under which every VM keeps its disks, sockets and console
 * log, and the set of VMs still running. `endRun` stops them all and removes the folder; if the
 * process exits some other way, an exit hook kills every QEMU it started and removes the folder.
 * (QEMU also runs under `setpriv --pdeathsig KILL`, so even a SIGKILL of this process ends it.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { processesMentioning } from '../../../tools/testenv/leftovers.js';

/** What the run needs from a VM to end it. */
export interface RunMember {
  readonly name: string;
  readonly consoleLogPath: string;
  /** The last lines of the serial console, printed when a test fails. */
  consoleTail(lines: number): Promise<string>;
  /** Stops the VM (QMP quit, then SIGKILL) and removes its disks and sockets. */
  stop(): Promise<void>;
  /** Synchronous last resort for exit hooks. */
  killNow(): void;
}

export const runTempPrefix = 'loam-e2e-';

let dir: string | undefined;
const members = new Set<RunMember>();

/** The run's temp folder, made on first use. */
export function runDir(): string {
  if (!dir) {
    dir = mkdtempSync(path.join(os.tmpdir(), runTempPrefix));
    writeFileSync(path.join(dir, 'owner.pid'), String(process.pid));
  }
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes the folders of earlier runs whose process is gone (a SIGKILL leaves no chance to clean
 * up; QEMU itself died with it through its parent-death signal). Returns the folders removed.
 */
export async function sweepStaleRuns(): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await readdir(os.tmpdir())) {
    if (!entry.startsWith(runTempPrefix)) continue;
    const folder = path.join(os.tmpdir(), entry);
    const owner = Number(await readFile(path.join(folder, 'owner.pid'), 'utf8').catch(() => 'NaN'));
    if (folder === dir || (Number.isInteger(owner) && alive(owner))) continue;
    if ((await processesMentioning(folder)).length > 0) continue;
    await rm(folder, { recursive: true, force: true });
    removed.push(folder);
  }
  return removed;
}

export function joinRun(member: RunMember): void {
  members.add(member);
}

export function leaveRun(member: RunMember): void {
  members.delete(member);
}

/** VMs of this run that are still running. */
export function runningMembers(): RunMember[] {
  return [...members];
}

/**
 * Stops every VM, removes the run folder, and returns the PIDs of processes that still name the
 * folder on their command line (QEMU names its disks and sockets there): empty when all went well.
 */
export async function endRun(): Promise<number[]> {
  await Promise.allSettled([...members].map((m) => m.stop()));
  const ended = dir;
  if (!ended) return [];
  const left = await processesMentioning(ended);
  await rm(ended, { recursive: true, force: true });
  dir = undefined;
  return left;
}

process.once('exit', () => {
  for (const m of members) m.killNow();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
