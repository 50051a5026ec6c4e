/**
 * `loam demo`: shows the Local Disk Manager working on this machine, end to end and for real — a
 * test control plane (etcd + kube-apiserver with Loam's CRDs), loam-controller, and loam-node over
 * four loop devices the demo makes (two SSD-like, one HDD-like, one holding ext4). It applies an
 * example claim and shows the result, then keeps everything running for the user to explore;
 * `cleanup()` removes everything it made, and nothing else.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loamResources, type LocalDisk, type LocalDiskClaim } from '../api/index.js';
import { ControlPlane } from '../../tools/testenv/controlplane.js';
import { StopWaiting, waitFor } from '../../tools/testenv/wait.js';
import { createKubeClients, isNotFound, resourcePath, type KubeClients } from '../kube/index.js';
import { demoClaim, exampleClaimPath } from './claim.js';
import { DemoLoops, type DemoLoop } from './loops.js';
import { startLoamProcess, type LoamProcess } from './processes.js';

const Gi = 2 ** 30;

export interface DemoOptions {
  /** Where the user-facing lines go (the CLI prints them). */
  write: (line: string) => void;
  /** Node name loam-node reports its disks under (default `loam-demo`). */
  nodeName?: string;
}

export interface DemoRunning {
  kubeconfigPath: string;
  kubectlPath: string;
  claimName: string;
  dir: string;
  /** Resolves with a message when loam-node or loam-controller ends on its own. */
  processExit: Promise<string>;
}

export class Demo {
  private readonly write: (line: string) => void;
  private readonly nodeName: string;
  private dir?: string;
  private cp?: ControlPlane;
  private loops?: DemoLoops;
  private processes: LoamProcess[] = [];
  private signal?: AbortSignal;

  constructor(opts: DemoOptions) {
    this.write = opts.write;
    this.nodeName = opts.nodeName ?? 'loam-demo';
  }

  /** Sets everything up and shows the claim at work; `signal` (Ctrl-C during setup) ends it between steps. */
  async start(signal: AbortSignal): Promise<DemoRunning> {
    if (process.getuid?.() !== 0) throw new Error('the demo makes loop devices: run it as root (sudo npm run demo)');
    this.signal = signal;
    this.dir = await mkdtemp(path.join(os.tmpdir(), 'loam-demo-'));
    const step = (n: number, text: string): void => {
      signal.throwIfAborted();
      this.write(`\n[${n}/6] ${text}`);
    };

    step(1, 'starting the test control plane (etcd + kube-apiserver + Loam CRDs; the first run builds it, which takes minutes)');
    const started = Date.now();
    this.cp = await ControlPlane.start();
    const cp = this.cp;
    this.write(`      up in ${((Date.now() - started) / 1000).toFixed(1)} s at ${cp.url}`);
    const clients = createKubeClients(cp.kubeConfig());

    step(2, 'making four loop devices (two SSD-like, one HDD-like, one holding ext4)');
    this.loops = new DemoLoops(this.dir);
    const made: DemoLoop[] = [];
    for (const spec of [
      { name: 'ssd-1.img', sizeBytes: 2 * Gi, rotational: false },
      { name: 'ssd-2.img', sizeBytes: 2 * Gi, rotational: false },
      { name: 'hdd-1.img', sizeBytes: 4 * Gi, rotational: true },
      { name: 'ext4-1.img', sizeBytes: 1 * Gi, rotational: false, ext4: true },
    ]) {
      signal.throwIfAborted();
      const loop = await this.loops.create(spec);
      made.push(loop);
      this.write(`      ${loop.device}  ${spec.ext4 ? 'holds ext4' : spec.rotational ? 'HDD-like' : 'SSD-like'}  ${spec.sizeBytes / Gi}Gi  (${loop.file})`);
    }

    step(3, `starting loam-controller and loam-node --node-name ${this.nodeName} --include-loop (logs in ${this.dir})`);
    const kubeconfig = ['--kubeconfig', cp.kubeconfigPath];
    this.processes.push(startLoamProcess('loam-controller', [...kubeconfig], this.dir));
    this.processes.push(startLoamProcess('loam-node', [...kubeconfig, '--node-name', this.nodeName, '--include-loop', '--local-storage', 'false'], this.dir));
    const processExit = Promise.race(this.processes.map((p) => p.exited.then((code) => `${p.name} exited with code ${code}; see ${p.logFile}`)));

    step(4, 'waiting for loam-node to publish a LocalDisk for each loop device');
    const byDevice = await this.waitForDisks(clients, made, processExit);
    await this.show(['get', 'localdisks']);

    const claim = await demoClaim(exampleClaimPath, this.nodeName, made.map((l) => l.device));
    const claimName = claim.metadata.name!;
    step(5, `applying ${path.relative(process.cwd(), exampleClaimPath)} (spec.nodeName and spec.description.devicePaths set to this demo's node and loop devices, so it can only take disks the demo made)`);
    const applied = await cp.kubectl(['apply', '-f', '-'], JSON.stringify(claim));
    if (applied.exitCode !== 0) throw new Error(`kubectl apply of the claim failed: ${applied.stderr}`);
    this.write(`      ${applied.stdout.trim()}`);
    const ssds = made.filter((l) => !l.rotational && !l.ext4).map((l) => byDevice.get(l.device)!);
    await this.until('the claim to be Bound and its disks Claimed by loam-node', processExit, async () => {
      const c = await get<LocalDiskClaim>(clients, resourcePath(loamResources.localDiskClaims, undefined, claimName));
      if (c?.status?.phase !== 'Bound') return false;
      const disks = await Promise.all(ssds.map((name) => get<LocalDisk>(clients, resourcePath(loamResources.localDisks, undefined, name))));
      return disks.every((d) => d?.status?.state === 'Claimed');
    });
    await this.show(['get', 'localdiskclaims']);
    await this.show(['get', 'localdisks', '-o', 'wide']);
    const ext4 = made.find((l) => l.ext4)!;
    const ext4Disk = await get<LocalDisk>(clients, resourcePath(loamResources.localDisks, undefined, byDevice.get(ext4.device)!));
    this.write(`\n${ext4.device} (holds ext4) is ${ext4Disk?.status?.state} (${ext4Disk?.status?.reason}): Loam never claims or wipes a disk that holds data.`);
    await this.showWhyNotChosen(clients, claimName);

    step(6, 'Loam is running. Explore it:');
    return { kubeconfigPath: cp.kubeconfigPath, kubectlPath: path.join(cp.binDir, 'kubectl'), claimName, dir: this.dir, processExit };
  }

  /** The last lines of loam-controller's and loam-node's logs, for a failure report. */
  async logTails(lines = 15): Promise<string[]> {
    const out: string[] = [];
    for (const p of this.processes) {
      const text = await readFile(p.logFile, 'utf8').catch(() => '');
      out.push(`--- ${p.name} (last ${lines} lines of ${p.logFile})`, ...text.trimEnd().split('\n').slice(-lines));
    }
    return out;
  }

  /** Stops the processes and the control plane, detaches the loop devices and removes the folder; returns what could not be undone. */
  async cleanup(): Promise<string[]> {
    const problems: string[] = [];
    for (const p of this.processes.splice(0).reverse()) {
      const code = await p.stop();
      if (code !== 0 && code !== undefined) problems.push(`${p.name} exited with code ${code} (log: ${p.logFile})`);
    }
    await this.cp?.stop().catch((err: unknown) => problems.push(`stopping the control plane: ${(err as Error).message}`));
    this.cp = undefined;
    if (this.loops) problems.push(...(await this.loops.cleanup()));
    this.loops = undefined;
    // Keep the logs when something went wrong, so the user can read them.
    if (this.dir && problems.length === 0) await rm(this.dir, { recursive: true, force: true });
    return problems;
  }

  private async waitForDisks(clients: KubeClients, loops: DemoLoop[], processExit: Promise<string>): Promise<Map<string, string>> {
    const byDevice = new Map<string, string>();
    await this.until('a LocalDisk for every loop device, the ext4 one Unavailable and the others Available', processExit, async () => {
      const list = await get<{ items: LocalDisk[] }>(clients, resourcePath(loamResources.localDisks));
      const mine = (list?.items ?? []).filter((d) => d.spec.nodeName === this.nodeName);
      return loops.every((l) => {
        const d = mine.find((x) => x.spec.devicePath === l.device);
        if (!d) return false;
        byDevice.set(l.device, d.metadata.name!);
        const want = l.ext4 ? 'Unavailable' : 'Available';
        return d.status?.state === want && d.spec.mediaClass === (l.rotational ? 'HDD' : 'SSD');
      });
    });
    return byDevice;
  }

  private async until(what: string, processExit: Promise<string>, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
    let exited: string | undefined;
    void processExit.then((m) => (exited = m));
    await waitFor(what, async () => {
      if (this.signal?.aborted) throw new StopWaiting('interrupted');
      if (exited) throw new StopWaiting(exited);
      return check();
    }, timeoutMs, 250).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}${exited ? '' : ` (logs: ${this.processes.map((p) => p.logFile).join(', ')})`}`, { cause: err });
    });
  }

  private async show(args: string[]): Promise<void> {
    const r = await this.cp!.kubectl(args);
    this.write(`\n$ kubectl ${args.join(' ')}`);
    this.write((r.exitCode === 0 ? r.stdout : r.stderr).trimEnd());
  }

  private async showWhyNotChosen(clients: KubeClients, claimName: string): Promise<void> {
    const events = await get<{ items: Array<{ reason?: string; note?: string; regarding?: { kind?: string; name?: string } }> }>(clients, '/apis/events.k8s.io/v1/namespaces/default/events');
    const notes = (events?.items ?? []).filter((e) => e.regarding?.kind === 'LocalDiskClaim' && e.regarding.name === claimName && e.reason === 'DiskNotChosen').map((e) => e.note);
    if (notes.length === 0) return;
    this.write(`\nWhy the other disks were not taken (events on the claim; kubectl describe ldc ${claimName}):`);
    for (const note of notes) this.write(`  - ${note}`);
  }
}

async function get<T>(clients: KubeClients, urlPath: string): Promise<T | undefined> {
  try {
    return await clients.rest.request<T>('GET', urlPath);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
