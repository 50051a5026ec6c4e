/**
 * The host side of the guest agent (`guest/agent.sh`): a line protocol over the VM's virtio-serial
 * port, which QEMU exposes as a unix socket on the host. Commands run as bash scripts in the guest;
 * each reply carries the exit code and base64 of stdout and stderr, so any bytes survive the trip.
 */
import net from 'node:net';
import { StopWaiting, waitFor } from '../../../tools/testenv/wait.js';
import { connectQemuSocket } from './socket.js';

export interface RunOptions {
  /** Extra environment for the command (on top of the guest's PATH and DM_DISABLE_UDEV=1). */
  env?: Record<string, string>;
  /** Working folder in the guest (default /). */
  cwd?: string;
  /** The guest kills the command after this long (default 60 s). */
  timeoutMs?: number;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for binary output. */
  stdoutBytes: Buffer;
}

interface Pending {
  resolve: (r: RunResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Quotes one word for bash (single quotes; a single quote becomes '\''). */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The script that runs `argv` (no shell interpretation of its words). */
export function argvScript(argv: string[]): string {
  if (argv.length === 0) throw new Error('an empty command line');
  return `exec ${argv.map(shellQuote).join(' ')}\n`;
}

export class GuestAgent {
  private partial: string[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly pongs = new Set<number>();
  private closedError?: Error;

  private constructor(private readonly socket: net.Socket, private readonly name: string) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => this.failAll(new Error(`the agent connection of VM ${name} closed (did the VM stop?)`)));
    socket.on('error', (err) => this.failAll(new Error(`the agent connection of VM ${name} failed`, { cause: err })));
  }

  /**
   * Connects to the agent socket and waits until the agent answers a PING. Pings repeat, because a
   * line sent before the guest opened its port may wait in QEMU, while one sent into a port the
   * guest opened and closed again is lost.
   */
  static async connect(socketPath: string, name: string, timeoutMs: number, alive: () => boolean): Promise<GuestAgent> {
    const socket = await connectQemuSocket(socketPath, `the agent socket of VM ${name}`, alive, Math.min(timeoutMs, 30_000));
    const agent = new GuestAgent(socket, name);
    let id = 0;
    await waitFor(`the agent of VM ${name} to answer`, () => {
      if (!alive()) throw new StopWaiting(`QEMU of VM ${name} exited during boot`);
      if (agent.closedError) throw new StopWaiting(agent.closedError.message);
      if ([...agent.pongs].length > 0) return true;
      id += 1;
      agent.socket.write(`PING ${id}\n`);
      return false;
    }, timeoutMs, 200);
    return agent;
  }

  /** Runs a bash script in the guest. Resolves with its result whatever the exit code. */
  runScript(script: string, opts: RunOptions = {}): Promise<RunResult> {
    if (this.closedError) return Promise.reject(this.closedError);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const prelude = Object.entries(opts.env ?? {}).map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
      return `export ${k}=${shellQuote(v)}\n`;
    });
    if (opts.cwd) prelude.push(`cd ${shellQuote(opts.cwd)} || exit 126\n`);
    const body = Buffer.from(prelude.join('') + script).toString('base64');
    const id = this.nextId++;
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    return new Promise<RunResult>((resolve, reject) => {
      // The guest kills the command at the deadline; the host gives it a little longer to report.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`VM ${this.name}: no reply within ${timeoutMs} ms (+10 s) to: ${script.slice(0, 200)}`));
      }, timeoutMs + 10_000);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(`RUN ${id} ${seconds} ${body}\n`);
    });
  }

  /** Runs `argv` in the guest (no shell word splitting). */
  run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.runScript(argvScript(argv), opts);
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    // Replies can be megabytes long: look for line ends in the new chunk only, never rescan.
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf('\n', start)) >= 0) {
      this.partial.push(chunk.slice(start, nl));
      this.onLine(this.partial.join(''));
      this.partial = [];
      start = nl + 1;
    }
    if (start < chunk.length) this.partial.push(chunk.slice(start));
  }

  private onLine(line: string): void {
    const [verb, idText, code, out, err] = line.split(' ');
    const id = Number(idText);
    if (verb === 'PONG') {
      this.pongs.add(id);
      return;
    }
    if (verb !== 'RES') return;
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    const stdoutBytes = Buffer.from(out ?? '', 'base64');
    pending.resolve({
      exitCode: Number(code),
      stdout: stdoutBytes.toString('utf8'),
      stderr: Buffer.from(err ?? '', 'base64').toString('utf8'),
      stdoutBytes,
    });
  }

  private failAll(err: Error): void {
    this.closedError ??= err;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }
}
