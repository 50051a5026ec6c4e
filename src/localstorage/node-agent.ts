/**
 * Local Storage on one node, wired: an informer on the node's LocalDisks, the PoolManager (disks
 * claimed for local-storage → PVs of the class VG), the LocalStorageNode reporter and the
 * ReplicaReconciler (LocalVolumeReplicas → LVs). Start order matters: VGs are activated and
 * adopted first, then the pools are reported, then replicas are reconciled into the pools.
 */
import { loamResources, nodeLabelSelector, type LocalDisk } from '../api/index.js';
import { componentLogger, type Logger } from '../common/logger.js';
import { EventRecorder, informerFor, type Informer, type KubeClients, type SharedInformers } from '../kube/index.js';
import { defaultMonitorSource } from '../ldm/udev.js';
import { Lvm } from './lvm.js';
import { poolDeviceSource } from './pool-devices.js';
import { PoolManager } from './pool-manager.js';
import { ReplicaReconciler } from './replica-reconciler.js';
import { StorageNodeReporter } from './storage-node.js';

export interface LocalStorageAgentOptions {
  clients: KubeClients;
  nodeName: string;
  /** LocalStorageNode heartbeat (ms). */
  heartbeatMs: number;
  /** How often LVM is compared with every replica (ms, default 60 s). */
  resyncMs?: number;
  /** The process's shared informers (the disk manager and the CSI node service watch the same objects). */
  informers?: SharedInformers;
  logger?: Logger;
}

export class LocalStorageAgent {
  private readonly log: Logger;
  private readonly informer: Informer<LocalDisk>;
  private readonly pools: PoolManager;
  private readonly reporter: StorageNodeReporter;
  private readonly replicas: ReplicaReconciler;
  /** The LVM door of this node, restricted to its pool disks: the CSI Node service uses it too. */
  readonly lvm: Lvm;

  constructor(opts: LocalStorageAgentOptions) {
    this.log = opts.logger ?? componentLogger('local-storage');
    const recorder = new EventRecorder(opts.clients, { reportingController: 'loam.io/loam-node', reportingInstance: opts.nodeName });
    const disks = { resource: loamResources.localDisks, labelSelector: nodeLabelSelector(opts.nodeName), logger: this.log };
    this.informer = informerFor<LocalDisk>(opts.clients.rest, disks, opts.informers);
    // LVM sees only the node's pool disks; where no udevd runs, device-mapper must not wait for
    // udev to create /dev nodes (it would hang).
    const lvm = new Lvm({ logger: this.log, devices: poolDeviceSource(this.informer, opts.nodeName), env: defaultMonitorSource() === 'kernel' ? { DM_DISABLE_UDEV: '1' } : {} });
    this.lvm = lvm;
    const onPoolsChanged = (): Promise<void> => this.reporter.refresh();
    this.pools = new PoolManager({ clients: opts.clients, nodeName: opts.nodeName, lvm, informer: this.informer, recorder, onPoolsChanged, logger: this.log });
    this.reporter = new StorageNodeReporter({
      clients: opts.clients,
      nodeName: opts.nodeName,
      lvm,
      informer: this.informer,
      heartbeatMs: opts.heartbeatMs,
      problems: () => this.pools.problems(),
      activationFailures: () => this.pools.activationFailures(),
      logger: this.log,
    });
    this.replicas = new ReplicaReconciler({ clients: opts.clients, nodeName: opts.nodeName, lvm, recorder, pools: this.reporter, resyncMs: opts.resyncMs, informers: opts.informers, logger: this.log });
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.waitForSync(120_000);
    await this.pools.start();
    await this.reporter.start();
    await this.replicas.start();
    this.log.info('local storage running');
  }

  async stop(): Promise<void> {
    await this.replicas.stop();
    await this.pools.stop();
    await this.reporter.stop();
    await this.informer.stop();
  }
}
