/**
 * The CSI driver end to end on real device-mapper: the host's test control plane, one VM with a
 * pool disk, loam-node in the guest serving the Node service on /run/loam/node.sock, and
 * loam-controller serving the Controller service, either in the guest (csi-sanity needs both
 * sockets on one machine) or on the host (the external-provisioner and -resizer run there). The
 * pool disk is claimed for Local Storage, so volumes become LVs in the guest.
 *
 * Used by test/sanity (csi-sanity), test/e2e/csi-provisioning.test.ts and bench/csi.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { loamResources, type LocalStorageNode, type MediaClass } from '../../src/api/index.js';
import { createKubeClients, resourcePath, type KubeClients } from '../../src/kube/index.js';
import { vgNameOfClass } from '../../src/localstorage/lvm.js';
import { ControlPlane } from '../../tools/testenv/controlplane.js';
import { createReadyNode } from '../../tools/testenv/nodes.js';
import { StopWaiting, waitFor } from '../../tools/testenv/wait.js';
import { installGuestKubeconfig } from '../e2e/harness/cluster.js';
import { GuestProcess, runCompiled } from '../e2e/harness/guest-process.js';
import { guestCsiCalls, type CsiService } from '../e2e/harness/guest-csi.js';
import { repoRoot } from '../e2e/harness/initramfs.js';
import { apiServerGuestAddress } from '../e2e/harness/network.js';
import { claimGuestPoolDisk, guestLvs, type GuestLv } from '../e2e/harness/local-storage.js';
import { Vm } from '../e2e/harness/vm.js';

export const guestNodeSocket = '/run/loam/node.sock';
export const guestControllerSocket = '/run/loam/controller.sock';

/** What one CSI call in the guest gave: its response, or the code and details of its refusal. */
export type GuestCallOutcome = { response: Record<string, unknown> } | { code: string; details: string };

export interface CsiClusterOptions {
  /** VM name = Node name. */
  nodeName: string;
  poolDiskBytes: number;
  /** Where loam-controller runs: `guest` (beside loam-node) or `host` (socket in a host folder). */
  controller: 'guest' | 'host';
  memoryMiB?: number;
  /** Guest vCPUs (default 1). */
  cpus?: number;
}

/** An LV as the guest's own `lvs` reports it. */

/** Generous: on a loaded 2-core host a TCG guest needs minutes to start node + tsx. */
const slowGuestMs = 300_000;

const hostProcessOptions = { reject: false, all: true, stdin: 'ignore', cwd: repoRoot } as const;

export class CsiCluster {
  readonly clients: KubeClients;
  mediaClass: MediaClass = 'SSD';
  vgName = vgNameOfClass('SSD');
  /** The controller socket as a path on the machine where the controller runs. */
  controllerSocket = guestControllerSocket;
  private kubeconfig = '';
  private hostDir = '';
  private hostController?: ResultPromise<typeof hostProcessOptions>;
  private hostControllerOutput = '';
  private guestController?: GuestProcess;
  private loamNode?: GuestProcess;

  private constructor(readonly cp: ControlPlane, readonly vm: Vm, readonly opts: CsiClusterOptions) {
    this.clients = createKubeClients(cp.kubeConfig());
  }

  static async start(opts: CsiClusterOptions): Promise<CsiCluster> {
    const cp = await ControlPlane.start({ extraServingIps: [apiServerGuestAddress] });
    let vm: Vm | undefined;
    let cluster: CsiCluster | undefined;
    try {
      await createReadyNode(cp.kubeConfig(), opts.nodeName);
      vm = await Vm.start({ name: opts.nodeName, apiServerPort: cp.apiPort, memoryMiB: opts.memoryMiB ?? 2048, cpus: opts.cpus, disks: [{ id: 'pool0', sizeBytes: opts.poolDiskBytes }] });
      cluster = new CsiCluster(cp, vm, opts);
      cluster.kubeconfig = await installGuestKubeconfig(vm, cp);
      await cluster.startController();
      await cluster.startLoamNode();
      return cluster;
    } catch (err) {
      if (cluster) await cluster.stop();
      else {
        await vm?.stop();
        await cp.stop();
      }
      throw err;
    }
  }

  /** The testenv binaries' folder (the same path in the guest: the host's root is visible there). */
  get binDir(): string {
    return this.cp.binDir;
  }

  private async startController(): Promise<void> {
    if (this.opts.controller === 'guest') {
      this.guestController = await GuestProcess.start(this.vm, {
        name: 'loam-controller',
        entry: 'src/cmd/loam-controller.ts',
        args: ['--kubeconfig', this.kubeconfig, '--leader-elect', 'false', '--csi-endpoint', `unix://${guestControllerSocket}`],
        logFile: '/run/loam-controller.log',
      });
      await this.guestController.waitForSocket(guestControllerSocket, slowGuestMs);
      return;
    }
    this.hostDir = await mkdtemp(path.join(os.tmpdir(), 'loam-csi-e2e-'));
    this.controllerSocket = path.join(this.hostDir, 'controller.sock');
    this.hostController = execa(process.execPath, ['--import', 'tsx', 'src/cmd/loam-controller.ts', '--kubeconfig', this.cp.kubeconfigPath, '--leader-elect', 'false', '--csi-endpoint', `unix://${this.controllerSocket}`], hostProcessOptions);
    this.hostController.all?.on('data', (d: Buffer) => {
      this.hostControllerOutput = (this.hostControllerOutput + d.toString()).slice(-200_000);
    });
    await waitFor(`loam-controller's socket ${this.controllerSocket}`, async () => {
      if (this.hostController?.exitCode !== null && this.hostController?.exitCode !== undefined) throw new StopWaiting(`loam-controller exited: ${this.hostControllerOutput.slice(-3000)}`);
      return (await execa('test', ['-S', this.controllerSocket], { reject: false })).exitCode === 0;
    }, 120_000, 200);
  }

  private async startLoamNode(): Promise<void> {
    this.loamNode = await GuestProcess.start(this.vm, {
      name: 'loam-node',
      entry: 'src/cmd/loam-node.ts',
      args: ['--node-name', this.opts.nodeName, '--kubeconfig', this.kubeconfig, '--csi-endpoint', `unix://${guestNodeSocket}`],
      logFile: '/run/loam-node.log',
    });
    await this.loamNode.waitForSocket(guestNodeSocket, slowGuestMs);
  }

  /** Claims the VM's pool disk for Local Storage and waits for the LocalStorageNode to be Ready with its pool. */
  async claimPoolDisk(): Promise<void> {
    ({ mediaClass: this.mediaClass, vgName: this.vgName } = await claimGuestPoolDisk(this.vm, this.loamNode, this.clients, this.opts.nodeName, slowGuestMs));
    await waitFor(`LocalStorageNode ${this.opts.nodeName} Ready with pool ${this.vgName}`, async () => {
      const lsn = await this.clients.rest.request<LocalStorageNode>('GET', resourcePath(loamResources.localStorageNodes, undefined, this.opts.nodeName)).catch(() => undefined);
      return lsn?.status?.state === 'Ready' && (lsn.status.pools ?? []).some((p) => p.vgName === this.vgName && (p.freeBytes ?? 0) > 0);
    }, slowGuestMs, 500);
  }

  /** The LVs of the pool's VG, from LVM's own tool in the guest. */
  guestLvs(): Promise<GuestLv[]> {
    return guestLvs(this.vm, this.vgName);
  }

  /**
   * Runs CSI calls in the guest, one after another in one process (test/sanity/guest/csi-call.ts);
   * resolves with their responses, throws at the first error.
   */
  guestCalls(socket: string, service: CsiService, calls: Array<[method: string, request: object]>): Promise<unknown[]> {
    return guestCsiCalls(this.vm, socket, service, calls);
  }

  /**
   * Runs CSI calls in the guest in one process, going on after a refusal; resolves with one
   * outcome per call: its response, or the refusal's gRPC code name and details.
   */
  async guestCallOutcomes(socket: string, service: CsiService, calls: Array<[method: string, request: object]>): Promise<GuestCallOutcome[]> {
    const args = calls.flatMap(([method, request]) => [method, JSON.stringify(request)]);
    const r = await runCompiled(this.vm, 'test/sanity/guest/csi-call.ts', ['--keep-going', socket, service, ...args], { timeoutMs: 300_000 });
    if (r.exitCode !== 0) throw new Error(`CSI calls in the guest failed (exit ${r.exitCode}): ${r.stdout}${r.stderr}`);
    return r.stdout.trim().split('\n').map((l) => {
      const parsed = JSON.parse(l) as Record<string, unknown>;
      return typeof parsed.code === 'string' && typeof parsed.method === 'string' ? { code: parsed.code, details: String(parsed.details) } : { response: parsed };
    });
  }

  /** The tails of loam-node's and loam-controller's logs, for a failure. */
  async logs(): Promise<string> {
    const controller = this.opts.controller === 'guest' ? await this.guestController?.logTail() : this.hostControllerOutput.slice(-6000);
    return `--- loam-node (guest)\n${await this.loamNode?.logTail() ?? ''}\n--- loam-controller (${this.opts.controller})\n${controller ?? ''}`;
  }

  async stop(): Promise<void> {
    this.hostController?.kill('SIGTERM');
    await this.hostController;
    await this.vm.stop();
    await this.cp.stop();
    if (this.hostDir) await rm(this.hostDir, { recursive: true, force: true });
  }
}
