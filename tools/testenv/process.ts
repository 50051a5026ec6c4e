import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { StopWaiting } from './wait.js';

const live = new Set<ManagedProcess>();

/**
 * A child process whose output goes to a log file, that is stopped with SIGTERM and then SIGKILL,
 * and that is killed when this process exits for any reason, so no test run leaves orphans.
 */
export class ManagedProcess {
  private child?: ChildProcess;
  private log?: WriteStream;
  private exited?: Promise<void>;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly logFile: string,
    private readonly verbose = false,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    this.log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(this.command, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    live.add(this);
    for (const stream of [child.stdout, child.stderr]) {
      stream?.pipe(this.log, { end: false });
      if (this.verbose) stream?.on('data', (d: Buffer) => process.stderr.write(`[${this.name}] ${d.toString()}`));
    }
    this.exited = new Promise((resolve) => child.once('exit', () => { live.delete(this); resolve(); }));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(new Error(`cannot start ${this.name} (${this.command})`, { cause: err })));
    });
  }

  /** Throws (ending a wait at once) when the process has already exited; false otherwise. */
  exitedEarly(): false {
    if (!this.running) throw new StopWaiting(`${this.name} exited with ${this.child?.exitCode ?? this.child?.signalCode}; see ${this.logFile}`);
    return false;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    this.log?.end();
  }

  /** Synchronous last resort for process exit handlers. */
  killNow(): void {
    if (this.running) this.child?.kill('SIGKILL');
  }
}

/** Kills every managed process still alive; used on exit. */
export function killAllManaged(): void {
  for (const p of live) p.killNow();
}

process.once('exit', killAllManaged);
