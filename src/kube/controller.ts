/**
 * Runs a reconcile function over the keys of a work queue with N workers, the way
 * controller-runtime does: success forgets the key (or re-queues it after `requeueAfterMs`), a
 * throw re-queues it with the queue's per-key backoff. `stop()` lets in-flight work finish.
 */
import { componentLogger, type Logger } from '../common/logger.js';
import { isNotFound, isRefusal, refusalHint, statusCodeOf } from './errors.js';
import { WorkQueue } from './workqueue.js';

export interface ReconcileResult {
  /** Reconcile this key again after this many ms (a poll), without counting a failure. */
  requeueAfterMs?: number;
  /** Reconcile again soon under the rate limiter, without it being an error. */
  requeue?: boolean;
}

/** Reads the current state for `key` and moves the world towards it; must be idempotent. */
export type Reconcile = (key: string, signal: AbortSignal) => Promise<ReconcileResult | void>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconcile;
  /** Parallel workers (default 1). One key never runs on two workers at once. */
  workers?: number;
  queue?: WorkQueue;
  logger?: Logger;
}

export interface ControllerStopOptions {
  /**
   * Abort in-flight reconciles (their signal fires) and drop queued keys, instead of draining.
   * A leader that lost its lease stops this way.
   */
  abort?: boolean;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly reconcile: Reconcile;
  private readonly workers: number;
  private readonly log: Logger;
  private readonly abortController = new AbortController();
  private running: Promise<void>[] = [];
  private started = false;

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.reconcile = opts.reconcile;
    this.workers = Math.max(1, opts.workers ?? 1);
    this.queue = opts.queue ?? new WorkQueue();
    this.log = opts.logger ?? componentLogger('controller').child({ controller: opts.name });
  }

  /** Queues `key` for reconciling (what event handlers call). */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Starts the workers; they run until `stop()`. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (let i = 0; i < this.workers; i++) this.running.push(this.worker());
    this.log.info('controller started', { workers: this.workers });
  }

  /** Stops taking new keys and resolves when the workers have finished (see ControllerStopOptions). */
  async stop(opts: ControllerStopOptions = {}): Promise<void> {
    if (opts.abort) {
      this.abortController.abort(new Error(`controller ${this.name} stopped`));
      this.queue.shutDown({ discardQueued: true });
    } else {
      this.queue.shutDown();
    }
    await Promise.all(this.running);
    this.running = [];
    this.log.info('controller stopped');
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.processKey(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async processKey(key: string): Promise<void> {
    const started = performance.now();
    try {
      const result = await this.reconcile(key, this.abortController.signal);
      if (result?.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, result.requeueAfterMs);
      } else if (result?.requeue) {
        this.queue.addRateLimited(key);
      } else {
        this.queue.forget(key);
      }
      this.log.debug('reconciled', { key, ms: Math.round(performance.now() - started) });
    } catch (err) {
      const retries = this.queue.numRequeues(key);
      this.queue.addRateLimited(key);
      const error = (err as Error).message;
      // Still retried (the object or the RBAC may change), but a refusal is not a passing failure.
      // A 404 inside a reconcile is an object that went away meanwhile: the retry reads it again.
      if (isRefusal(err) && !isNotFound(err)) this.log.error(`reconcile refused by the API server: ${refusalHint(err)}; retrying will not help until that is fixed`, { key, retries, code: statusCodeOf(err), error });
      else this.log.warn('reconcile failed; will retry with backoff', { key, retries, error });
    }
  }
}
