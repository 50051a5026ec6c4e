/**
 * Loam's own programs inside a guest. They run as compiled JavaScript from dist/ (built once per
 * process, `ensureCompiled`): under the guest's emulated CPU, loading tsx and
 * transpiling the sources took about 60 s per start, the compiled code about 20 s.
 *
 * A background program keeps its PID and its log, so a wait on it ends at once, with the log, when
 * the program has died instead of running into its timeout with nothing to show.
 */
import path from 'node:path';
import { execa } from 'execa';
import { StopWaiting, waitFor } from '../../../tools/testenv/wait.js';
import { shellQuote } from './agent.js';
import { repoRoot } from './initramfs.js';
import type { RunOptions, RunResult } from './agent.js';
import type { Vm } from './vm.js';

const compiledRoot = path.join(repoRoot, 'dist');

let compiled: Promise<void> | undefined;

/**
 * Compiles the repository to dist/ (`npm run build`) once per process, so guests run what the
 * sources say now. Every harness that starts a guest program awaits it; the tier's setup starts it.
 */
export function ensureCompiled(): Promise<void> {
  compiled ??= (async () => {
    const r = await execa('npm', ['run', '-s', 'build'], { cwd: repoRoot, reject: false, all: true });
    if (r.exitCode !== 0) throw new Error(`npm run build failed (exit ${r.exitCode}); VMs run Loam's compiled code:\n${r.all}`);
  })();
  return compiled;
}

/** The argv that runs a TypeScript entry point of this repository (path from the root) compiled. */
export function compiledArgv(entry: string, args: readonly string[] = []): string[] {
  if (!entry.endsWith('.ts')) throw new Error(`compiledArgv: ${entry} is not a .ts entry point`);
  // No --enable-source-maps: mapping error stacks under TCG doubled the time 50 volumes took to be
  // Ready (78 s against 36 s); stacks name dist/ lines, and the .js.map files beside them map back.
  return ['node', path.join(compiledRoot, entry.replace(/\.ts$/, '.js')), ...args];
}

/** Runs a compiled entry point in the guest to its end, from the repository root. */
export async function runCompiled(vm: Vm, entry: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  await ensureCompiled();
  return vm.run(compiledArgv(entry, args), { cwd: repoRoot, ...opts });
}

export interface GuestProcessOptions {
  /** Shown in errors, e.g. `loam-node`. */
  name: string;
  /** A TypeScript entry point of this repository, run compiled. */
  entry: string;
  args?: readonly string[];
  env?: Record<string, string>;
  /** Where stdout and stderr go in the guest. */
  logFile: string;
}

export class GuestProcess {
  private constructor(private readonly vm: Vm, readonly opts: GuestProcessOptions, readonly pid: number) {}

  /** Starts the program in its own session; resolves once its PID is known. */
  static async start(vm: Vm, opts: GuestProcessOptions): Promise<GuestProcess> {
    await ensureCompiled();
    const exports = Object.entries(opts.env ?? {}).map(([k, v]) => `export ${k}=${shellQuote(v)}; `).join('');
    const pidFile = `${opts.logFile}.pid`;
    // setsid may fork, so the PID the shell sees is not always the program's: its own PID ($$ just
    // before exec) goes to a file.
    await vm.startBackground(`${exports}echo $$ > ${shellQuote(pidFile)}; cd ${shellQuote(repoRoot)} && exec ${compiledArgv(opts.entry, opts.args).map(shellQuote).join(' ')}`, opts.logFile);
    let pid: number | undefined;
    await waitFor(`${opts.name} to record its PID in the guest`, async () => {
      const r = await vm.runScript(`cat ${shellQuote(pidFile)} 2>/dev/null`);
      pid = r.exitCode === 0 && r.stdout.trim() ? Number(r.stdout.trim()) : undefined;
      return pid !== undefined;
    }, 30_000, 200);
    return new GuestProcess(vm, opts, pid!);
  }

  /** A shell test that is true while the process runs. The guest's init does not reap orphans: a zombie counts as dead. */
  private get runningTest(): string {
    return `[ -e /proc/${this.pid} ] && [ "$(cut -d' ' -f3 /proc/${this.pid}/stat 2>/dev/null)" != Z ]`;
  }

  async alive(): Promise<boolean> {
    return (await this.vm.runScript(this.runningTest)).exitCode === 0;
  }

  /** The last `chars` characters of its log. */
  async logTail(chars = 6000): Promise<string> {
    return (await this.vm.readFile(this.opts.logFile).catch(() => Buffer.from(''))).toString().slice(-chars);
  }

  /**
   * Waits until `check` is true. Fails at once if the process has died, and on timeout, with the
   * tail of its log either way.
   */
  async waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 500): Promise<void> {
    let died = false;
    try {
      await waitFor(what, async () => {
        // A check that throws (the API server not answering yet) still looks at the process.
        const outcome = await check().then((ok) => ({ ok }), (error: unknown) => ({ ok: false, error }));
        if (outcome.ok) return true;
        if (!(await this.alive())) {
          died = true;
          throw new StopWaiting(`${this.opts.name} (guest PID ${this.pid}) has exited`);
        }
        if ('error' in outcome) throw outcome.error;
        return false;
      }, timeoutMs, intervalMs);
    } catch (err) {
      const state = died ? 'it exited' : `it is ${(await this.alive()) ? 'still running' : 'not running'}`;
      throw new Error(`${(err as Error).message}; ${this.opts.name}: ${state}; the end of ${this.opts.logFile}:\n${await this.logTail(4000)}`, { cause: err });
    }
  }

  /** Waits until the program serves the unix socket `socket` in the guest. */
  waitForSocket(socket: string, timeoutMs: number): Promise<void> {
    return this.waitFor(`${this.opts.name} to serve ${socket} in the guest`, async () => (await this.vm.runScript(`test -S ${shellQuote(socket)}`)).exitCode === 0, timeoutMs);
  }

  /** kill -9: no shutdown code runs. Resolves once it is dead. */
  async kill9(): Promise<void> {
    await this.vm.runOk(`kill -9 ${this.pid}; while ${this.runningTest}; do sleep 0.1; done`);
  }
}
