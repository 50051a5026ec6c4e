/**
 * Local Storage end to end, as a user runs it: the host's test control plane, loam-controller on the
 * host as a real process, one VM with a pool disk running loam-node against the host's API server,
 * and a LocalDiskClaim that turns the disk into the VG of its class. Shared by
 * test/e2e/localstorage.test.ts and bench/placement/vm-latency.ts.
 */
import { randomUUID } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import { apiVersion, labels, loamResources, localStorageOwner, type LocalDisk, type LocalDiskClaim, type LocalStorageNode, type LocalVolume, type LocalVolumeReplica, type MediaClass } from '../../../src/api/index.js';
import { componentLogger } from '../../../src/common/logger.js';
import { createKubeClients, isNotFound, mergePatch, resourcePath, type KubeClients, type ResourceRef } from '../../../src/kube/index.js';
import { vgNameOfClass } from '../../../src/localstorage/lvm.js';
import { ControlPlane } from '../../../tools/testenv/controlplane.js';
import { createReadyNode } from '../../../tools/testenv/nodes.js';
import { StopWaiting, waitFor } from '../../../tools/testenv/wait.js';
import { installGuestKubeconfig } from './cluster.js';
import { GuestProcess } from './guest-process.js';
import { repoRoot } from './initramfs.js';
import { apiServerGuestAddress } from './network.js';
import { Vm } from './vm.js';

const log = componentLogger('e2e');

export interface LocalStorageClusterOptions {
  /** VM name = Node name. */
  nodeName: string;
  /** Size of the VM's pool disk. */
  poolDiskBytes: number;
  /** A unix socket path in the guest: loam-node serves the CSI Node service there. Default: not served. */
  csiEndpoint?: string;
  /** loam-node's environment when `startLoamNode` is given none (e.g. a test hook for every start). */
  loamNodeEnv?: Record<string, string>;
}

/** An LV as `lvs` in the guest reports it. */
export interface GuestLv {
  name: string;
  sizeBytes: number;
  tags: string[];
  active: boolean;
  /** LVM's own identity of the LV: an LV made again under the same name gets a new one. */
  uuid: string;
  /** Its VG. */
  vgName: string;
}

const controllerOptions = { reject: false, all: true, stdin: 'ignore', cwd: repoRoot } as const;

/**
 * Claims the VM's disk with serial `pool0` for Local Storage once its LocalDisk is Available, as an
 * administrator would (the wait ends at once if `loamNode` dies); returns the disk's media class
 * and the VG it will join.
 */
export async function claimGuestPoolDisk(vm: Vm, loamNode: GuestProcess | undefined, clients: KubeClients, nodeName: string, timeoutMs: number): Promise<{ mediaClass: MediaClass; vgName: string }> {
  const dev = await vm.deviceWithSerial('pool0');
  if (!dev) throw new Error('the guest does not show the pool disk');
  if (!loamNode) throw new Error('loam-node is not running in the guest');
  let disk: LocalDisk | undefined;
  await loamNode.waitFor(`the LocalDisk of /dev/${dev} to be Available`, async () => {
    const disks = await clients.rest.request<{ items: LocalDisk[] }>('GET', resourcePath(loamResources.localDisks), { query: { labelSelector: `${labels.node}=${nodeName}` } });
    disk = disks.items.find((d) => d.spec.devicePath === `/dev/${dev}` && d.status?.state === 'Available');
    return disk !== undefined;
  }, timeoutMs, 500);
  const mediaClass = disk!.spec.mediaClass!;
  const claim: LocalDiskClaim = {
    apiVersion, kind: 'LocalDiskClaim',
    metadata: { name: `${nodeName}-pool` },
    spec: { nodeName, owner: localStorageOwner, description: { mediaClass, devicePaths: [`/dev/${dev}`] } },
  };
  await clients.rest.request('POST', resourcePath(loamResources.localDiskClaims), { body: claim, query: { fieldValidation: 'Strict' } });
  return { mediaClass, vgName: vgNameOfClass(mediaClass) };
}

/**
 * The LVs of a VG (of every VG when `vgName` is left out) as the guest's `lvs` reports them (LVM's
 * own tool, not Loam's door).
 */
export async function guestLvs(vm: Vm, vgName?: string): Promise<GuestLv[]> {
  const out = await vm.runOk(`lvm lvs -o lv_name,vg_name,lv_uuid,lv_size,lv_tags,lv_active --units b --nosuffix --reportformat json ${vgName ?? ''}`);
  const rows = (JSON.parse(out) as { report: Array<{ lv: Array<Record<string, string>> }> }).report.flatMap((r) => r.lv);
  return rows.map((r) => ({
    name: r.lv_name!, vgName: r.vg_name!, uuid: r.lv_uuid!, sizeBytes: Number(r.lv_size),
    tags: (r.lv_tags ?? '').split(',').filter(Boolean), active: r.lv_active === 'active',
  }));
}

/** A VG's size and free bytes as the guest's `vgs` reports them. */
export async function guestVg(vm: Vm, vgName: string): Promise<{ sizeBytes: number; freeBytes: number }> {
  const out = await vm.runOk(`lvm vgs -o vg_size,vg_free --units b --nosuffix --reportformat json ${vgName}`);
  const row = (JSON.parse(out) as { report: Array<{ vg: Array<Record<string, string>> }> }).report[0]!.vg[0]!;
  return { sizeBytes: Number(row.vg_size), freeBytes: Number(row.vg_free) };
}

/**
 * The mocha hooks of a spec file that shares one LocalStorageCluster: started, with its pool disk
 * claimed, before the tests (the logs printed when that fails; `onClaimed` gets how long the claim
 * took); the logs printed after a failed test; stopped after all. Call it inside the file's
 * describe; the getter gives the cluster.
 */
export function withLocalStorageCluster(opts: LocalStorageClusterOptions, onClaimed?: (claimMs: number) => void): () => LocalStorageCluster {
  let ls: LocalStorageCluster | undefined;
  before(async function () {
    ls = await LocalStorageCluster.start(opts);
    try {
      // Not `onClaimed?.(await ...)`: optional chaining would skip the argument, and the claim, without a callback.
      const claimMs = await ls.claimPoolDisk();
      onClaimed?.(claimMs);
    } catch (err) {
      console.log(await ls.logs());
      throw err;
    }
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && ls) console.log(await ls.logs());
  });
  after(async function () {
    await ls?.stop();
  });
  return () => {
    if (!ls) throw new Error('the LocalStorageCluster is not started (withLocalStorageCluster hooks run before the tests)');
    return ls;
  };
}

export class LocalStorageCluster {
  readonly clients: KubeClients;
  /** Set once the claim bound the pool disk: the media class of the VM's disk, and its VG. */
  mediaClass: MediaClass = 'SSD';
  vgName = vgNameOfClass('SSD');
  private controller?: ResultPromise<typeof controllerOptions>;
  private controllerOutput = '';
  private controllerStarts = 0;
  private loamNode?: GuestProcess;
  private loamNodeStarts = 0;
  private kubeconfig = '';

  private constructor(readonly cp: ControlPlane, readonly vm: Vm, readonly opts: LocalStorageClusterOptions) {
    this.clients = createKubeClients(cp.kubeConfig());
  }

  /** Control plane, Node object, VM with the pool disk, loam-controller and loam-node running. */
  static async start(opts: LocalStorageClusterOptions): Promise<LocalStorageCluster> {
    const cp = await ControlPlane.start({ extraServingIps: [apiServerGuestAddress] });
    let vm: Vm | undefined;
    try {
      await createReadyNode(cp.kubeConfig(), opts.nodeName);
      vm = await Vm.start({ name: opts.nodeName, apiServerPort: cp.apiPort, disks: [{ id: 'pool0', sizeBytes: opts.poolDiskBytes }] });
      const cluster = new LocalStorageCluster(cp, vm, opts);
      cluster.kubeconfig = await installGuestKubeconfig(vm, cp);
      cluster.startController();
      await cluster.startLoamNode();
      return cluster;
    } catch (err) {
      await vm?.stop();
      await cp.stop();
      throw err;
    }
  }

  /** loam-controller on the host, as a real process, without leader election (one instance); again after `killController`. */
  startController(): void {
    this.controllerOutput += `\n--- loam-controller start ${++this.controllerStarts}\n`;
    this.controller = execa(process.execPath, ['--import', 'tsx', 'src/cmd/loam-controller.ts', '--kubeconfig', this.cp.kubeconfigPath, '--leader-elect', 'false'], controllerOptions);
    this.controller.all?.on('data', (d: Buffer) => {
      this.controllerOutput = (this.controllerOutput + d.toString()).slice(-200_000);
    });
  }

  /** kill -9 of loam-controller on the host: no shutdown code runs. Resolves once it is dead. */
  async killController(): Promise<void> {
    this.controller?.kill('SIGKILL');
    await this.controller;
    this.controller = undefined;
  }

  /** True while the loam-controller started last still runs. */
  get controllerRunning(): boolean {
    return this.controller !== undefined && this.controller.exitCode === null && this.controller.signalCode === null;
  }

  /** True while the loam-node started last still runs in the guest. */
  async loamNodeRunning(): Promise<boolean> {
    return (await this.loamNode?.alive()) ?? false;
  }

  /**
   * Waits until `check` is true; fails at once, with the logs, when loam-node or loam-controller
   * has exited meanwhile (a crash is not something to wait out).
   */
  async waitWhileRunning(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 500): Promise<void> {
    if (!this.loamNode) throw new Error(`waiting for ${what}: loam-node is not running in the guest`);
    await this.loamNode.waitFor(what, async () => {
      if (!this.controllerRunning) throw new StopWaiting(`loam-controller has exited; its output:\n${this.controllerOutput.slice(-4000)}`);
      return check();
    }, timeoutMs, intervalMs);
  }

  /** Starts loam-node in the guest (each start logs to its own file); `env` e.g. for test hooks. */
  async startLoamNode(env: Record<string, string> = this.opts.loamNodeEnv ?? {}): Promise<void> {
    const csi = this.opts.csiEndpoint ? ['--csi-endpoint', `unix://${this.opts.csiEndpoint}`] : [];
    this.loamNode = await GuestProcess.start(this.vm, {
      name: 'loam-node',
      entry: 'src/cmd/loam-node.ts',
      args: ['--node-name', this.opts.nodeName, '--kubeconfig', this.kubeconfig, '--resync-seconds', '30', ...csi],
      env,
      logFile: `/run/loam-node-${++this.loamNodeStarts}.log`,
    });
    log.info('loam-node started in the guest', { pid: this.loamNode.pid, logFile: this.loamNode.opts.logFile });
  }

  /** kill -9 of loam-node in the guest: no shutdown code runs. Resolves once it is dead. */
  async killLoamNode(): Promise<void> {
    await this.loamNode?.kill9();
    this.loamNode = undefined;
  }

  /** Power cut and boot with the same disks; loam-node is started again. */
  async reboot(): Promise<void> {
    this.loamNode = undefined;
    await this.vm.powerCycle();
    this.kubeconfig = await installGuestKubeconfig(this.vm, this.cp);
    await this.startLoamNode();
  }

  /** The tail of every log a failure needs: loam-node's in the guest and loam-controller's. */
  async logs(): Promise<string> {
    const node = await this.loamNode?.logTail() ?? '';
    return `--- loam-node (guest)\n${node}\n--- loam-controller (host)\n${this.controllerOutput.slice(-6000)}`;
  }

  async stop(): Promise<void> {
    this.controller?.kill('SIGTERM');
    await this.controller;
    await this.vm.stop();
    await this.cp.stop();
  }

  // --- The pool

  /**
   * Waits for the VM's pool disk to be an Available LocalDisk, claims it for Local Storage and
   * waits until its VG exists in the guest. Returns how long the claim took to become a VG.
   */
  async claimPoolDisk(): Promise<number> {
    const started = Date.now();
    ({ mediaClass: this.mediaClass, vgName: this.vgName } = await claimGuestPoolDisk(this.vm, this.loamNode, this.clients, this.opts.nodeName, 300_000));
    await waitFor(`VG ${this.vgName} in the guest`, async () => (await this.vm.runScript(`lvm vgs ${this.vgName}`)).exitCode === 0, 120_000, 500);
    return Date.now() - started;
  }

  /** The LVs of the pool's VG as the guest's `lvs` reports them (LVM's own tool, not Loam's door). */
  guestLvs(): Promise<GuestLv[]> {
    return guestLvs(this.vm, this.vgName);
  }

  // --- Volumes, as the CSI controller would write them

  newVolumeName(): string {
    return `pvc-${randomUUID()}`;
  }

  async createVolume(name: string, capacityBytes: number): Promise<LocalVolume> {
    const body: LocalVolume = { apiVersion, kind: 'LocalVolume', metadata: { name }, spec: { poolClass: this.mediaClass, capacityBytes, replicaCount: 1 } };
    return this.clients.rest.request<LocalVolume>('POST', resourcePath(loamResources.localVolumes), { body, query: { fieldValidation: 'Strict' } });
  }

  async growVolume(name: string, capacityBytes: number): Promise<void> {
    await mergePatch(this.clients, loamResources.localVolumes, { name }, { spec: { capacityBytes } });
  }

  async deleteVolume(name: string): Promise<void> {
    await this.clients.rest.request('DELETE', resourcePath(loamResources.localVolumes, undefined, name));
  }

  getVolume(name: string): Promise<LocalVolume | undefined> {
    return this.get<LocalVolume>(loamResources.localVolumes, name);
  }

  replicas(volumeName?: string): Promise<LocalVolumeReplica[]> {
    return this.list<LocalVolumeReplica>(loamResources.localVolumeReplicas, volumeName ? `${labels.volume}=${volumeName}` : undefined);
  }

  volumes(): Promise<LocalVolume[]> {
    return this.list<LocalVolume>(loamResources.localVolumes);
  }

  /** Waits until the volume is Ready with at least `allocatedBytes`; returns it. */
  async waitVolumeReady(name: string, allocatedBytes: number, timeoutMs = 120_000): Promise<LocalVolume> {
    let vol: LocalVolume | undefined;
    await waitFor(`LocalVolume ${name} to be Ready with ${allocatedBytes} bytes`, async () => {
      vol = await this.getVolume(name);
      return vol?.status?.state === 'Ready' && (vol.status.allocatedBytes ?? 0) >= allocatedBytes;
    }, timeoutMs, 250);
    return vol!;
  }

  async waitVolumeGone(name: string, timeoutMs = 120_000): Promise<void> {
    await waitFor(`LocalVolume ${name} and its replicas to be gone`, async () => (await this.getVolume(name)) === undefined && (await this.replicas(name)).length === 0, timeoutMs, 250);
  }

  /**
   * The pool's figures as the LocalStorageNode reports them next to what `vgs` says in the guest
   * (read in that order: a report that has caught up with LVM shows the same).
   */
  async poolFigures(): Promise<{ reported?: { totalBytes?: number; freeBytes?: number; volumeCount?: number }; vgs: { sizeBytes: number; freeBytes: number } }> {
    const lsn = await this.get<LocalStorageNode>(loamResources.localStorageNodes, this.opts.nodeName);
    const pool = lsn?.status?.pools?.find((p) => p.vgName === this.vgName);
    return { reported: pool && { totalBytes: pool.totalBytes, freeBytes: pool.freeBytes, volumeCount: pool.volumeCount }, vgs: await guestVg(this.vm, this.vgName) };
  }

  private async get<T>(ref: ResourceRef, name: string): Promise<T | undefined> {
    try {
      return await this.clients.rest.request<T>('GET', resourcePath(ref, undefined, name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async list<T>(ref: ResourceRef, labelSelector?: string): Promise<T[]> {
    const out = await this.clients.rest.request<{ items: T[] }>('GET', resourcePath(ref), { query: { labelSelector } });
    return out.items;
  }
}
