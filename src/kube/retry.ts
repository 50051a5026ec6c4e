/** Retries a call to the API server while it fails transiently (429, 5xx, unreachable). */
import { componentLogger } from '../common/logger.js';
import { backoffDelay, sleep, type BackoffOptions } from './backoff.js';
import { apiErrorMessage, isTransient } from './errors.js';

const log = componentLogger('kube-retry');

export interface RetryOptions {
  /** Tries in all, the first included (default 5). */
  attempts?: number;
  /** Default 100 ms doubling to 5 s with 20 % jitter. */
  backoff?: BackoffOptions;
  /** Which errors to retry (default `isTransient`). */
  retryable?: (err: unknown) => boolean;
  signal?: AbortSignal;
  /** Names the call in logs. */
  what?: string;
}

/** Runs `fn`, retrying transient failures with backoff; the last error is rethrown as is. */
export async function withRetry<R>(fn: () => Promise<R>, opts: RetryOptions = {}): Promise<R> {
  const attempts = Math.max(1, opts.attempts ?? 5);
  const backoff = opts.backoff ?? { baseMs: 100, maxMs: 5_000, jitter: 0.2 };
  const retryable = opts.retryable ?? isTransient;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt + 1 >= attempts || !retryable(err) || opts.signal?.aborted) throw err;
      // A 429 may say how long to wait; honour it when it is longer than our own delay.
      const delayMs = Math.max(backoffDelay(attempt, backoff), retryAfterMs(err));
      log.debug('transient API error; retrying', { what: opts.what, attempt: attempt + 1, delayMs: Math.round(delayMs), error: apiErrorMessage(err) });
      await sleep(delayMs, opts.signal);
    }
  }
}

function retryAfterMs(err: unknown): number {
  const headers = (err as { headers?: Record<string, string> } | undefined)?.headers;
  const value = headers?.['retry-after'] ?? headers?.['Retry-After'];
  const seconds = value === undefined ? NaN : Number(value);
  return Number.isFinite(seconds) ? Math.min(seconds, 60) * 1000 : 0;
}
