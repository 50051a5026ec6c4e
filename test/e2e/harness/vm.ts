/**
 * One test VM: Debian's kernel under QEMU's software emulation (TCG), the host's root shared
 * read-only over 9p with a tmpfs overlay on top (so the guest runs the host's own binaries and this
 * checkout), sparse virtio disks of its own, a serial console log, QMP for hot-plug, the guest agent
 * for commands, and at most the two networks of `network.ts`.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { componentLogger } from '../../../src/common/logger.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { GuestAgent, shellQuote, type RunOptions, type RunResult } from './agent.js';
import { ensureInitramfs } from './initramfs.js';
import { ensureKernel } from './kernel.js';
import { isListening, type HostForward, type LinkEnd } from './network.js';
import { qemuArgs, type DiskFile } from './qemu-args.js';
import { QmpClient } from './qmp.js';
import { noteFigure } from './figures.js';
import { joinRun, leaveRun, runDir, type RunMember } from './run.js';

const log = componentLogger('e2e');

export interface DiskSpec {
  /** Becomes the disk's serial number, readable in the guest at /sys/block/vdX/serial. */
  id: string;
  /** Ignored with `backingFile` (the overlay has the backing file's size). */
  sizeBytes: number;
  /**
   * An image to start from (qcow2 when its name ends in .qcow2, else raw), read-only and shared: the
   * VM gets a qcow2 copy-on-write overlay of it in the run folder (e.g. a cached disk of container
   * images), not a blank sparse file.
   */
  backingFile?: string;
}

export interface VmOptions {
  /** VM name and guest hostname (lower-case letters, digits and dashes). */
  name: string;
  memoryMiB?: number;
  cpus?: number;
  /** Disks attached at boot (sparse files in the run folder). */
  disks?: DiskSpec[];
  /** Host port of the API server the guest reaches as https://10.0.2.100:6443; no user-mode NIC without it. */
  apiServerPort?: number;
  /** Host loopback ports forwarded into the guest over the user-mode NIC, e.g. to the kubelet's port. */
  hostForwards?: HostForward[];
  /** This VM's end of a private link (see `makePrivateLink`). */
  link?: LinkEnd;
  /** More kernel command line arguments (key=value ones without a dot reach the guest's init as variables). */
  kernelArgs?: string[];
  /** Time allowed from QEMU start to an answering agent. */
  bootTimeoutMs?: number;
}

let vmCount = 0;

const qemuOptions = { reject: false, stdin: 'ignore', all: true } as const;
type QemuProcess = ResultPromise<typeof qemuOptions>;

/** A sparse file of `sizeBytes` (no blocks used until the guest writes). */
async function sparseFile(file: string, sizeBytes: number): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    await handle.truncate(sizeBytes);
  } finally {
    await handle.close();
  }
}

function checkedName(name: string): string {
  if (!/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/.test(name)) throw new Error(`invalid VM name ${JSON.stringify(name)}`);
  return name;
}

/** Starts QEMU (its output appended to qemu.log in `dir`). */
function launchQemu(args: string[], dir: string): QemuProcess {
  // setpriv: QEMU gets SIGKILL when this process dies, even when no exit hook can run.
  const qemu = execa('setpriv', ['--pdeathsig', 'KILL', '--', 'qemu-system-x86_64', ...args], qemuOptions);
  qemu.all?.pipe(createWriteStream(path.join(dir, 'qemu.log'), { flags: 'a' }));
  return qemu;
}

export class Vm implements RunMember {
  /** Milliseconds from QEMU start until the guest agent answered. */
  bootMs = 0;
  private qmp?: QmpClient;
  private agent?: GuestAgent;
  private readonly hotplugged = new Map<string, string>();
  private stopping?: Promise<void>;

  private constructor(
    readonly name: string,
    readonly dir: string,
    private qemu: QemuProcess,
    /** QEMU's arguments, kept so a power cycle boots the same machine with the same disk images. */
    private readonly args: string[],
    private readonly bootTimeoutMs: number,
  ) {}

  get consoleLogPath(): string {
    return path.join(this.dir, 'console.log');
  }

  get pid(): number | undefined {
    return this.qemu.pid;
  }

  get running(): boolean {
    return this.qemu.exitCode === null && this.qemu.signalCode === null;
  }

  /** Boots a VM and waits until its agent answers; on failure the error carries the console's tail. */
  static async start(opts: VmOptions): Promise<Vm> {
    const name = checkedName(opts.name);
    const index = ++vmCount;
    const kernel = await ensureKernel();
    const initramfs = await ensureInitramfs(kernel);
    // The index keeps two VMs of one name (one after the other) apart.
    const dir = path.join(runDir(), `${index}-${name}`);
    await mkdir(dir);
    const diskFiles: DiskFile[] = [];
    for (const disk of opts.disks ?? []) {
      const file = path.join(dir, `${disk.id}.img`);
      if (disk.backingFile) {
        const backingFormat = disk.backingFile.endsWith('.qcow2') ? 'qcow2' : 'raw';
        await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', backingFormat, '-b', disk.backingFile, file]);
        diskFiles.push({ id: disk.id, file, format: 'qcow2' });
      } else {
        await sparseFile(file, disk.sizeBytes);
        diskFiles.push({ id: disk.id, file });
      }
    }
    if (opts.link?.role === 'connect') {
      // QEMU's connecting side gives up at once if nobody listens yet.
      const port = opts.link.port;
      await waitFor(`the listening end of the link on port ${port}`, () => isListening(port), 60_000);
    }
    const args = qemuArgs({ ...opts, name, dir, kernel, initramfs, disks: diskFiles, index });
    const vm = new Vm(name, dir, launchQemu(args, dir), args, opts.bootTimeoutMs ?? 180_000);
    joinRun(vm);
    await vm.connect('boot');
    return vm;
  }

  /** Waits for QMP and the agent of a freshly started QEMU; on failure stops the VM and throws with the console's tail. */
  private async connect(what: 'boot' | 'reboot'): Promise<void> {
    const started = Date.now();
    try {
      this.qmp = await QmpClient.connect(path.join(this.dir, 'qmp.sock'), this.name, () => this.running);
      this.agent = await GuestAgent.connect(path.join(this.dir, 'agent.sock'), this.name, this.bootTimeoutMs, () => this.running);
      this.bootMs = Date.now() - started;
      log.info('VM up', { vm: this.name, bootMs: this.bootMs, pid: this.qemu.pid, what });
      noteFigure(`${what} of VM ${this.name}`, `${(this.bootMs / 1000).toFixed(1)} s (QEMU start to agent answer)`);
    } catch (err) {
      const why = `${await this.consoleTail(40)}\n--- qemu output\n${await readFile(path.join(this.dir, 'qemu.log'), 'utf8').catch(() => '')}`;
      await this.stop();
      throw new Error(`VM ${this.name} did not ${what}: ${(err as Error).message}\n--- console tail\n${why}`, { cause: err });
    }
  }

  /**
   * Power cycle: QEMU quits (as a power cut: guest processes get no signal, nothing is unmounted)
   * and starts again with the same disk images, which keep what the guest wrote. Disks hot-plugged
   * since the boot are not attached again. Resolves when the new boot's agent answers.
   */
  async powerCycle(): Promise<void> {
    if (this.stopping) throw new Error(`VM ${this.name} is stopped`);
    await this.quitQemu();
    this.hotplugged.clear();
    for (const f of ['qmp.sock', 'agent.sock']) await rm(path.join(this.dir, f), { force: true });
    this.qemu = launchQemu(this.args, this.dir);
    await this.connect('reboot');
  }

  /** Runs `argv` in the guest; resolves with exit code, stdout and stderr whatever the exit code. */
  run(argv: string[], opts?: RunOptions): Promise<RunResult> {
    return this.connectedAgent().run(argv, opts);
  }

  /** Runs a bash script in the guest. */
  runScript(script: string, opts?: RunOptions): Promise<RunResult> {
    return this.connectedAgent().runScript(script, opts);
  }

  /** Runs a bash script and returns its stdout; throws, with stderr, unless it exits 0. */
  async runOk(script: string, opts?: RunOptions): Promise<string> {
    const r = await this.runScript(script, opts);
    if (r.exitCode !== 0) {
      throw new Error(`VM ${this.name}: exit ${r.exitCode} from: ${script.trim()}\n--- stderr\n${r.stderr}--- stdout\n${r.stdout}`);
    }
    return r.stdout;
  }

  /**
   * Starts a bash script in the guest in the background, in its own session, with stdout and stderr
   * going to `logFile` in the guest; returns its guest PID as soon as it started.
   */
  async startBackground(script: string, logFile: string): Promise<number> {
    const out = await this.runOk(`setsid bash -c ${shellQuote(script)} > ${shellQuote(logFile)} 2>&1 < /dev/null &\necho $!`);
    return Number(out.trim());
  }

  /** Writes `content` to `guestPath` (the host's root is visible read-only; this is for the rest). */
  async writeFile(guestPath: string, content: string | Buffer, mode = 0o644): Promise<void> {
    const data = Buffer.from(content).toString('base64');
    await this.runOk(`mkdir -p "$(dirname ${shellQuote(guestPath)})"\nbase64 -d > ${shellQuote(guestPath)} <<'EOF'\n${data}\nEOF\nchmod ${mode.toString(8)} ${shellQuote(guestPath)}\n`);
  }

  /** The bytes of a file in the guest. */
  async readFile(guestPath: string): Promise<Buffer> {
    const r = await this.run(['cat', guestPath]);
    if (r.exitCode !== 0) throw new Error(`VM ${this.name}: cannot read ${guestPath}: ${r.stderr}`);
    return r.stdoutBytes;
  }

  /** The guest's block device (vdX) whose serial is `id`, or undefined. */
  async deviceWithSerial(id: string): Promise<string | undefined> {
    const out = await this.runOk('for d in /sys/block/vd*; do [ -e "$d/serial" ] && echo "$(basename "$d") $(cat "$d/serial")"; done; true');
    return out.split('\n').map((l) => l.split(' ')).find(([, serial]) => serial === id)?.[0];
  }

  /** Hot-plugs a new sparse virtio disk whose serial is `disk.id` (QMP blockdev-add + device_add). */
  async plugDisk(disk: DiskSpec): Promise<void> {
    const file = path.join(this.dir, `${disk.id}.img`);
    await sparseFile(file, disk.sizeBytes);
    const node = `node-${disk.id}`;
    await this.connectedQmp().execute('blockdev-add', { driver: 'raw', 'node-name': node, file: { driver: 'file', filename: file } });
    await this.connectedQmp().execute('device_add', { driver: 'virtio-blk-pci', id: disk.id, drive: node, serial: disk.id });
    this.hotplugged.set(disk.id, file);
  }

  /**
   * Unplugs a hot-plugged disk: `device_del` asks the guest to let go (ACPI eject), QEMU reports
   * DEVICE_DELETED when it did, and only then can the block node and the file go.
   */
  async unplugDisk(id: string, timeoutMs = 60_000): Promise<void> {
    const file = this.hotplugged.get(id);
    if (!file) throw new Error(`VM ${this.name} has no hot-plugged disk ${id}`);
    const qmp = this.connectedQmp();
    await qmp.execute('device_del', { id });
    await qmp.waitForEvent('DEVICE_DELETED', (e) => e.data?.device === id, timeoutMs);
    await qmp.execute('blockdev-del', { 'node-name': `node-${id}` });
    this.hotplugged.delete(id);
    await rm(file, { force: true });
  }

  /** CPU seconds QEMU has used so far (user + system), from /proc. */
  async cpuSeconds(): Promise<number> {
    const stat = await readFile(`/proc/${this.pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are 14 and 15 overall.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100;
  }

  /** The last lines of the serial console. */
  async consoleTail(lines = 60): Promise<string> {
    const text = await readFile(this.consoleLogPath, 'utf8').catch(() => '(no console log)');
    return text.split('\n').slice(-lines).join('\n');
  }

  /** Stops QEMU (QMP quit, SIGKILL after 5 s) and removes the disks and sockets; the console log stays until the run ends. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  killNow(): void {
    if (this.running) this.qemu.kill('SIGKILL');
  }

  /** QMP quit, SIGKILL after 5 s; closes both connections. */
  private async quitQemu(): Promise<void> {
    this.agent?.close();
    if (this.running) {
      await Promise.race([this.qmp?.execute('quit').catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
      const timer = setTimeout(() => this.qemu.kill('SIGKILL'), 5000);
      await this.qemu;
      clearTimeout(timer);
    }
    this.qmp?.close();
  }

  private async doStop(): Promise<void> {
    await this.quitQemu();
    leaveRun(this);
    for (const f of ['qmp.sock', 'agent.sock']) await rm(path.join(this.dir, f), { force: true });
    for (const f of await readdir(this.dir)) if (f.endsWith('.img')) await rm(path.join(this.dir, f), { force: true });
    log.info('VM stopped', { vm: this.name });
  }

  private connectedAgent(): GuestAgent {
    if (!this.agent) throw new Error(`VM ${this.name} has no agent connection`);
    return this.agent;
  }

  private connectedQmp(): QmpClient {
    if (!this.qmp) throw new Error(`VM ${this.name} has no QMP connection`);
    return this.qmp;
  }
}
