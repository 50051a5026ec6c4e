/** Exponential backoff, the arithmetic shared by retries, the informer and the work queue. */

export interface BackoffOptions {
  /** First delay in ms. */
  baseMs: number;
  /** Largest delay in ms. */
  maxMs: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Fraction of random spread added on top, 0..1 (default 0): spreads reconnect storms. */
  jitter?: number;
}

/** Delay before retry number `attempt` (0-based): base·factor^attempt, capped at max, plus jitter. */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const factor = opts.factor ?? 2;
  // Cap the exponent first so a large attempt count cannot overflow to Infinity.
  const raw = opts.baseMs * Math.pow(factor, Math.min(Math.max(attempt, 0), 1000));
  const capped = Math.min(Number.isFinite(raw) ? raw : opts.maxMs, opts.maxMs);
  const jitter = opts.jitter ?? 0;
  return jitter > 0 ? Math.min(capped * (1 + jitter * random()), opts.maxMs * (1 + jitter)) : capped;
}

/** A backoff that remembers its attempt count: `next()` for each failure, `reset()` on success. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly opts: BackoffOptions) {}

  next(): number {
    return backoffDelay(this.attempt++, this.opts);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
