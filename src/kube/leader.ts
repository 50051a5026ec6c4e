/**
 * Leader election on a `coordination.k8s.io/v1` Lease, with client-go's rules:
 * - the holder renews every `retryPeriodMs`; every write is an update under the Lease's
 *   resourceVersion, so of two electors racing for it exactly one wins (the other gets 409);
 * - another elector takes the Lease only when it has seen no change to it for `leaseDurationMs`
 *   by its own clock (no trust in the holder's clock), or when the holder released it;
 * - a leader that has not renewed for `renewDeadlineMs` steps down: the AbortSignal given to
 *   `onStartedLeading` fires and `onStoppedLeading` runs, before anyone else can take over
 *   (renew deadline < lease duration).
 */
import { componentLogger, type Logger } from '../common/logger.js';
import { sleep } from './backoff.js';
import type { KubeClients } from './client.js';
import { apiErrorMessage, isConflict, isNotFound } from './errors.js';
import { coreResources, resourcePath } from './resource.js';
import { microTime } from './time.js';

export interface LeaderElectionOptions {
  /** Namespace and name of the Lease. */
  namespace: string;
  name: string;
  /** This candidate, unique among candidates (e.g. pod name + random suffix). */
  identity: string;
  /** Default 15 s. */
  leaseDurationMs?: number;
  /** Default 10 s; must be below the lease duration. */
  renewDeadlineMs?: number;
  /** Default 2 s; must be below the renew deadline. */
  retryPeriodMs?: number;
  /** Runs when this candidate becomes leader; stop all work when `signal` aborts. */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Runs when this candidate stops leading (lost the Lease, or stopped). */
  onStoppedLeading?: () => void;
  /** Runs when the observed leader changes (any candidate, including this one). */
  onNewLeader?: (identity: string) => void;
  /** Give the Lease up when stopped, so the next leader need not wait for it to expire (default true). */
  releaseOnStop?: boolean;
  logger?: Logger;
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly log: Logger;
  private readonly path: string;
  /** The Lease as last read or written, and when (our clock) its content last changed. */
  private observed?: Lease;
  private observedAt = 0;
  private leading = false;
  private lastLeader = '';

  constructor(private readonly clients: Pick<KubeClients, 'rest'>, private readonly opts: LeaderElectionOptions) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.retryPeriodMs < this.renewDeadlineMs && this.renewDeadlineMs < this.leaseDurationMs)) {
      throw new Error(`leader election needs retryPeriod < renewDeadline < leaseDuration (got ${this.retryPeriodMs}/${this.renewDeadlineMs}/${this.leaseDurationMs} ms)`);
    }
    this.log = (opts.logger ?? componentLogger('leader-election')).child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
    this.path = resourcePath(coreResources.leases, opts.namespace, opts.name);
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder of the Lease as last observed ('' if none). */
  get leader(): string {
    return this.observed?.spec?.holderIdentity ?? '';
  }

  /**
   * Campaigns, leads, and after losing the Lease campaigns again, until `signal` aborts; then
   * stops leading (releasing the Lease if so configured) and resolves.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.acquire(signal))) break;
      await this.lead(signal);
    }
  }

  /** Tries every retry period until this candidate holds the Lease; false if stopped first. */
  private async acquire(signal: AbortSignal): Promise<boolean> {
    this.log.info('campaigning for the lease');
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew(signal)) return true;
      // Jitter keeps candidates from hitting the server in lockstep.
      await sleep(this.retryPeriodMs * (1 + 0.2 * Math.random()), signal).catch(() => undefined);
    }
    return false;
  }

  /** Leads until the Lease cannot be renewed within the renew deadline, or `signal` aborts. */
  private async lead(signal: AbortSignal): Promise<void> {
    const work = new AbortController();
    this.leading = true;
    this.log.info('started leading');
    Promise.resolve()
      .then(() => this.opts.onStartedLeading(work.signal))
      .catch((err: unknown) => this.log.error('leader work failed', { error: (err as Error)?.message }));
    let lastRenew = performance.now();
    try {
      while (!signal.aborted) {
        await sleep(this.retryPeriodMs, signal).catch(() => undefined);
        if (signal.aborted) break;
        const left = this.renewDeadlineMs - (performance.now() - lastRenew);
        // Each renew attempt is cut off at the deadline, so a hanging server cannot keep us leading.
        const renewed = left > 0 && (await this.tryAcquireOrRenew(AbortSignal.any([signal, AbortSignal.timeout(Math.ceil(left))])));
        const holder = this.observed?.spec?.holderIdentity ?? '';
        if (renewed) lastRenew = performance.now();
        else if (holder !== '' && holder !== this.opts.identity) {
          this.log.warn('another candidate holds the lease; stepping down', { holder });
          break;
        } else if (performance.now() - lastRenew >= this.renewDeadlineMs) {
          this.log.warn('could not renew the lease before the renew deadline; stepping down');
          break;
        }
      }
    } finally {
      this.leading = false;
      work.abort(new Error('leadership lost'));
      if (signal.aborted && (this.opts.releaseOnStop ?? true)) await this.release();
      this.log.info('stopped leading');
      try {
        this.opts.onStoppedLeading?.();
      } catch (err) {
        this.log.error('onStoppedLeading threw', { error: (err as Error)?.message });
      }
    }
  }

  /** One read-and-write round; true when this candidate holds the Lease afterwards. */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = microTime();
    const leaseDurationSeconds = Math.max(1, Math.ceil(this.leaseDurationMs / 1000));
    try {
      let current: Lease;
      try {
        current = await this.clients.rest.request<Lease>('GET', this.path, { signal });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const created = await this.clients.rest.request<Lease>('POST', resourcePath(coreResources.leases, this.opts.namespace), {
          signal,
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.opts.name, namespace: this.opts.namespace }, spec: { holderIdentity: this.opts.identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 } },
        });
        this.observe(created);
        return true;
      }
      this.observe(current);
      const holder = current.spec?.holderIdentity ?? '';
      const mine = holder === this.opts.identity;
      if (holder !== '' && !mine && performance.now() - this.observedAt < this.leaseDurationMs) return false;
      const spec: LeaseSpec = {
        ...current.spec,
        holderIdentity: this.opts.identity,
        leaseDurationSeconds,
        renewTime: now,
        acquireTime: mine ? (current.spec?.acquireTime ?? now) : now,
        leaseTransitions: (current.spec?.leaseTransitions ?? 0) + (mine ? 0 : 1),
      };
      // The resourceVersion makes this a compare-and-swap: a rival's write in between gives 409.
      const updated = await this.clients.rest.request<Lease>('PUT', this.path, { signal, body: { ...current, spec } });
      this.observe(updated);
      return true;
    } catch (err) {
      if (isConflict(err)) this.log.debug('lost a race for the lease');
      else this.log.warn('lease request failed', { error: apiErrorMessage(err) });
      return false;
    }
  }

  /** Gives the Lease up: empty holder, so another candidate can take it at once. */
  private async release(): Promise<void> {
    if (this.observed?.spec?.holderIdentity !== this.opts.identity) return;
    try {
      // Read again: a renew cut short by the stop may have landed, so the cached version is stale.
      const lease = await this.clients.rest.request<Lease>('GET', this.path, { timeoutMs: this.renewDeadlineMs });
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      const released = await this.clients.rest.request<Lease>('PUT', this.path, {
        timeoutMs: this.renewDeadlineMs,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime() } },
      });
      this.observe(released);
      this.log.info('released the lease');
    } catch (err) {
      this.log.warn('could not release the lease; it will expire', { error: apiErrorMessage(err) });
    }
  }

  private observe(lease: Lease): void {
    const before = this.observed;
    const changed = !before || before.spec?.holderIdentity !== lease.spec?.holderIdentity || before.spec?.renewTime !== lease.spec?.renewTime;
    this.observed = lease;
    if (changed) this.observedAt = performance.now();
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== this.lastLeader) {
      this.lastLeader = holder;
      if (holder) this.opts.onNewLeader?.(holder);
    }
  }
}
