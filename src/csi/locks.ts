/**
 * Per-volume (and per-name) locks in front of the services. The CSI spec asks a plugin that gets a
 * second call for a volume while one is still running to answer ABORTED at once rather than queue
 * it: the CO retries with backoff, and two calls never act on one volume together (a DeleteVolume
 * racing the CreateVolume of the same volume could otherwise see a half-written object).
 */
import { aborted } from './errors.js';

export class VolumeLocks {
  private readonly held = new Set<string>();

  /** Takes every key or none; returns the release function, or undefined when a key is held. */
  tryAcquire(keys: readonly string[]): (() => void) | undefined {
    const unique = [...new Set(keys)];
    if (unique.some((k) => this.held.has(k))) return undefined;
    for (const k of unique) this.held.add(k);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of unique) this.held.delete(k);
    };
  }

  isHeld(key: string): boolean {
    return this.held.has(key);
  }

  /**
   * Runs `fn` holding the lock of `volume` (and of every extra key, e.g. the CreateVolume name);
   * ABORTED "an operation on volume X is already in progress" when one of them is taken.
   */
  async run<T>(volume: string, fn: () => Promise<T>, extraKeys: readonly string[] = []): Promise<T> {
    const release = this.tryAcquire([`volume/${volume}`, ...extraKeys.map((k) => `name/${k}`)]);
    if (!release) throw aborted(`an operation on volume ${volume} is already in progress`);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
