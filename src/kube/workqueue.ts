/**
 * A work queue of keys with client-go's semantics:
 * - a key waits in the queue at most once (adds of a queued key are merged);
 * - a key is never handed to two workers at once: a key added while it is processed is queued
 *   again when `done(key)` is called;
 * - `addRateLimited` delays a key by its rate limiter (per-key backoff and a global bucket),
 *   `forget` clears its failures, `addAfter` delays it by a given time;
 * - after `shutDown` no new key is accepted, keys already queued are still handed out, and `get`
 *   then returns undefined; `shutDownWithDrain` also waits for the keys being processed.
 */
import { defaultControllerRateLimiter, type RateLimiter } from './ratelimit.js';

export interface WorkQueueOptions {
  rateLimiter?: RateLimiter;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys that need processing: queued, or added again while being processed. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys waiting for `addAfter`, with their timer and when they are due. */
  private readonly delayed = new Map<string, { timer: NodeJS.Timeout; dueAt: number }>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private readonly drainWaiters: Array<() => void> = [];
  private shuttingDown = false;
  readonly rateLimiter: RateLimiter;

  constructor(opts: WorkQueueOptions = {}) {
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter();
  }

  /** Queues `key` unless it is already queued; a key being processed is queued again after `done`. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Queues `key` after `delayMs`; of several pending delays for one key the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const dueAt = performance.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.dueAt <= dueAt) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { timer, dueAt });
  }

  /** Queues `key` after the delay its rate limiter gives (one more failure for its backoff). */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Clears the failure count of `key` (call after it succeeded). */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /**
   * The next key to process, waiting for one if needed; undefined once the queue is shut down and
   * empty. The caller must call `done(key)` when it has finished with the key.
   */
  get(): Promise<string | undefined> {
    const key = this.take();
    if (key !== undefined || this.shuttingDown) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks `key` as processed; if it was added meanwhile, it goes back into the queue. */
  done(key: string): void {
    // A stray done() for a key not handed out must not queue it twice.
    if (!this.processing.delete(key)) return;
    if (this.dirty.has(key)) this.push(key);
    this.checkDrained();
  }

  /** Keys waiting to be handed out (not those delayed or being processed). */
  get length(): number {
    return this.queue.length;
  }

  /** Keys being processed right now. */
  get inFlight(): number {
    return this.processing.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Stops accepting keys and drops delayed ones. Queued keys are still handed out by `get` unless
   * `discardQueued` is set (a leader that lost its lease must not keep acting).
   */
  shutDown(opts: { discardQueued?: boolean } = {}): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    if (opts.discardQueued) {
      this.dirty.clear();
      this.queue.length = 0;
    }
    // Workers waiting for a key learn that none will come.
    for (const resolve of this.waiters.splice(0)) resolve(undefined);
    this.checkDrained();
  }

  /** `shutDown`, then resolves when every queued key has been handed out and processed. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.processing.add(key);
      this.dirty.delete(key);
      waiter(key);
    } else {
      this.queue.push(key);
    }
  }

  private take(): string | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.processing.add(key);
    this.dirty.delete(key);
    return key;
  }

  private isDrained(): boolean {
    return this.queue.length === 0 && this.processing.size === 0;
  }

  private checkDrained(): void {
    if (this.shuttingDown && this.isDrained()) for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
