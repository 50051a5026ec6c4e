/**
 * ClaimBinder: the claim controller of loam-controller. It watches LocalDiskClaims and LocalDisks
 * and reconciles a claim whenever the claim or any disk of its node changes, so a Pending claim is
 * re-evaluated as disks appear. One instance per leadership term: `start()` fills the caches and
 * starts the workers, `stop()` ends them (a Controller cannot be restarted).
 */
import type { LocalDisk, LocalDiskClaim } from '../api/index.js';
import { loamResources } from '../api/index.js';
import { componentLogger, type Logger } from '../common/logger.js';
import { Controller, EventRecorder, enqueueOnChange, fieldIndex, informerFor, objectKey, type Informer, type KubeClients, type SharedInformers } from '../kube/index.js';
import { ClaimEvents } from './claim-events.js';
import { ClaimReconciler, type ClaimCaches } from './claim-reconciler.js';

export interface ClaimBinderOptions {
  clients: KubeClients;
  /** This controller instance, in events (`reportingInstance`). */
  identity: string;
  /** Claims reconciled in parallel (default 2); two claims racing for one disk are settled by the API server. */
  workers?: number;
  /** Relist period of the informers in ms (default 5 min). */
  resyncMs?: number;
  /** The process's shared informers. */
  informers?: SharedInformers;
  logger?: Logger;
}

const byNode = 'node';
const byClaim = 'claim';

export class ClaimBinder {
  private readonly claims: Informer<LocalDiskClaim>;
  private readonly disks: Informer<LocalDisk>;
  private readonly controller: Controller;
  private readonly log: Logger;
  private unhook: Array<() => void> = [];

  constructor(opts: ClaimBinderOptions) {
    this.log = opts.logger ?? componentLogger('claim-binder');
    const rest = opts.clients.rest;
    this.claims = informerFor<LocalDiskClaim>(rest, {
      resource: loamResources.localDiskClaims,
      indexers: { [byNode]: fieldIndex((c) => c.spec?.nodeName) },
      resyncMs: opts.resyncMs,
      logger: this.log,
    }, opts.informers);
    this.disks = informerFor<LocalDisk>(rest, {
      resource: loamResources.localDisks,
      indexers: { [byNode]: fieldIndex((d) => d.spec?.nodeName), [byClaim]: fieldIndex((d) => d.spec?.claimRef?.name) },
      resyncMs: opts.resyncMs,
      logger: this.log,
    }, opts.informers);
    const caches: ClaimCaches = {
      claim: (name) => this.claims.cache.get(name),
      disksOfNode: (node) => this.disks.cache.byIndex(byNode, node),
      disksClaimedAs: (name) => this.disks.cache.byIndex(byClaim, name),
    };
    const events = new ClaimEvents(new EventRecorder(opts.clients, { reportingController: 'loam.io/claim-binder', reportingInstance: opts.identity }));
    const reconciler = new ClaimReconciler({ clients: opts.clients, caches, events, log: this.log });
    this.controller = new Controller({
      name: 'claim-binder',
      workers: opts.workers ?? 2,
      logger: this.log,
      reconcile: (key, signal) => reconciler.reconcile(key, signal),
    });
  }

  /**
   * Fills both caches, then starts reconciling; every claim is reconciled once at start. Waits for
   * the caches as long as it takes (the informers keep retrying), unless `signal` aborts first.
   */
  async start(signal?: AbortSignal): Promise<void> {
    const queue = this.controller.queue;
    this.unhook = [
      enqueueOnChange(this.claims, queue),
      // A disk change matters to the claim it is bound to and to every claim of its node.
      enqueueOnChange(this.disks, queue, (d) => [
        ...(d.spec?.claimRef?.name ? [d.spec.claimRef.name] : []),
        ...this.claims.cache.byIndex(byNode, d.spec?.nodeName ?? '').map((c) => objectKey(c)),
      ]),
    ];
    this.claims.start();
    this.disks.start();
    for (;;) {
      try {
        await Promise.all([this.claims.waitForSync(60_000), this.disks.waitForSync(60_000)]);
        break;
      } catch (err) {
        if (signal?.aborted) return;
        this.log.warn('caches not filled yet (is the API server reachable, are the CRDs installed?); still waiting', { error: (err as Error).message });
      }
    }
    if (signal?.aborted) return;
    // Disks listed before their claims were cached enqueued no claim: reconcile every claim once now.
    for (const claim of this.claims.cache.list()) queue.add(objectKey(claim));
    this.controller.start();
    this.log.info('claim binder started', { claims: this.claims.cache.size, disks: this.disks.cache.size });
  }

  /** Stops the workers (aborting in-flight reconciles when `abort`, as a leader that lost its lease must) and the informers. */
  async stop(opts: { abort?: boolean } = {}): Promise<void> {
    for (const off of this.unhook) off();
    this.unhook = [];
    await this.controller.stop({ abort: opts.abort });
    await Promise.all([this.claims.stop(), this.disks.stop()]);
    this.log.info('claim binder stopped');
  }
}
