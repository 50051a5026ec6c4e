/**
 * A write that must not be retried blindly: a 409 means someone changed the object since we
 * decided (re-read and decide again), a 404 that it is gone; both come back as outcomes, anything
 * else is thrown.
 */
import { isConflict, isNotFound } from './errors.js';

export type WriteOutcome<T> = { ok: true; object: T } | { ok: false; conflict: boolean; gone: boolean };

export async function compareAndSwap<T>(write: () => Promise<T>): Promise<WriteOutcome<T>> {
  try {
    return { ok: true, object: await write() };
  } catch (err) {
    if (isConflict(err)) return { ok: false, conflict: true, gone: false };
    if (isNotFound(err)) return { ok: false, conflict: false, gone: true };
    throw err;
  }
}
