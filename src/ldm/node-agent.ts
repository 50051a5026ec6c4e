/**
 * The Local Disk Manager of one node, wired: an informer on the node's LocalDisks, the udev
 * monitor, the inventory (enumeration + safety probe + SMART), the publisher (LocalDisk spec and
 * status) and the LocalDiskNode reporter, plus the periodic resync that catches missed events.
 */
import { loamResources, nodeLabelSelector, type LocalDisk } from '../api/index.js';
import { componentLogger, type Logger } from '../common/logger.js';
import { EventRecorder, informerFor, type Informer, type KubeClients, type SharedInformers } from '../kube/index.js';
import { DiskInventory } from './disk-inventory.js';
import { DiskNodeReporter } from './disk-node.js';
import { DiskPublisher } from './disk-publisher.js';
import { readSmart } from './smart.js';
import { enumerateBlockDevices, UdevMonitor } from './udev.js';
import type { BlockDeviceEvent } from './udev-types.js';

export interface NodeAgentOptions {
  clients: KubeClients;
  nodeName: string;
  includeLoop: boolean;
  /** Full re-enumeration and re-probe this often (ms). */
  resyncMs: number;
  /** SMART read per disk this often (ms); 0 turns it off. */
  smartIntervalMs: number;
  /** LocalDiskNode heartbeat (ms). */
  heartbeatMs: number;
  /** Per-device debounce of uevents (ms). */
  debounceMs?: number;
  /** The process's shared informers (the node's LocalDisks are watched by Local Storage too). */
  informers?: SharedInformers;
  logger?: Logger;
}

export class DiskNodeAgent {
  private readonly log: Logger;
  private readonly informer: Informer<LocalDisk>;
  private readonly inventory: DiskInventory;
  private readonly publisher: DiskPublisher;
  private readonly reporter: DiskNodeReporter;
  private readonly monitor = new UdevMonitor({ source: 'auto' });
  private resyncTimer?: NodeJS.Timeout;
  private resyncing?: Promise<void>;

  constructor(private readonly opts: NodeAgentOptions) {
    this.log = opts.logger ?? componentLogger('ldm-node');
    const disks = { resource: loamResources.localDisks, labelSelector: nodeLabelSelector(opts.nodeName), logger: this.log };
    this.informer = informerFor<LocalDisk>(opts.clients.rest, disks, opts.informers);
    this.inventory = new DiskInventory({
      nodeName: opts.nodeName,
      includeLoop: opts.includeLoop,
      debounceMs: opts.debounceMs ?? 50,
      smartIntervalMs: opts.smartIntervalMs,
      enumerate: enumerateBlockDevices,
      readSmart: (devnode) => readSmart(devnode),
      onChange: (name) => this.publisher.enqueue(name),
      logger: this.log,
    });
    const recorder = new EventRecorder(opts.clients, { reportingController: 'loam.io/loam-node', reportingInstance: opts.nodeName });
    this.publisher = new DiskPublisher({
      clients: opts.clients,
      nodeName: opts.nodeName,
      inventory: this.inventory,
      informer: this.informer,
      recorder,
      logger: this.log,
      lastSeenRefreshMs: Math.max(opts.resyncMs, 60_000),
    });
    this.reporter = new DiskNodeReporter({ clients: opts.clients, nodeName: opts.nodeName, informer: this.informer, logger: this.log, heartbeatMs: opts.heartbeatMs });
    const onEvent = (ev: BlockDeviceEvent): void => this.inventory.handleEvent(ev);
    for (const action of ['add', 'change', 'remove', 'move'] as const) this.monitor.on(action, onEvent);
    this.monitor.on('overflow', () => {
      this.log.warn('uevents were lost; re-reading every device');
      void this.resync();
    });
    this.monitor.on('error', (err) => this.log.error('udev monitor failed; relying on the periodic resync', { error: err.message }));
  }

  /** Starts everything; resolves after the first full scan has been queued for publishing. */
  async start(): Promise<void> {
    this.informer.start();
    await this.informer.waitForSync(120_000);
    this.publisher.start();
    this.reporter.start();
    // Monitor first, then enumerate: an event during the scan is only a second refresh, never a gap.
    try {
      this.monitor.start();
      this.log.info('watching block devices', { source: this.monitor.source, includeLoop: this.opts.includeLoop });
    } catch (err) {
      this.log.error('cannot watch uevents; disks are only re-read by the periodic resync', { error: (err as Error).message, resyncMs: this.opts.resyncMs });
    }
    await this.inventory.refreshAll();
    this.publisher.markScanned();
    this.resyncTimer = setInterval(() => void this.resync(), this.opts.resyncMs);
    this.log.info('first scan done', { disks: this.inventory.presentNames().length });
  }

  /** One full re-read at a time; a resync asked for while one runs is merged into it. */
  resync(): Promise<void> {
    this.resyncing ??= (async () => {
      const started = performance.now();
      await this.inventory.refreshAll();
      this.publisher.enqueueAll();
      const mem = process.memoryUsage();
      this.log.info('resync done', {
        disks: this.inventory.presentNames().length,
        ms: Math.round(performance.now() - started),
        rssMiB: Math.round(mem.rss / 1048576),
        heapMiB: Math.round(mem.heapUsed / 1048576),
      });
    })().finally(() => {
      this.resyncing = undefined;
    });
    return this.resyncing;
  }

  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    this.monitor.stop();
    this.inventory.stop();
    await this.inventory.idle();
    await this.reporter.stop();
    await this.publisher.stop();
    await this.informer.stop();
  }
}
