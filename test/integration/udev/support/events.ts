/** Records a UdevMonitor's events with arrival times, so a test can wait for one it has just caused. */
import type { BlockDeviceAction, BlockDeviceEvent, UdevMonitor } from '../../../../src/ldm/udev.js';

export interface Received {
  event: BlockDeviceEvent;
  /** process.hrtime.bigint() when the listener ran */
  at: bigint;
}

type Match = (event: BlockDeviceEvent) => boolean;

export class EventRecorder {
  readonly received: Received[] = [];
  readonly #waiters = new Set<{ match: Match; resolve: (r: Received) => void }>();
  readonly #listener = (event: BlockDeviceEvent): void => {
    const received = { event, at: process.hrtime.bigint() };
    this.received.push(received);
    for (const waiter of this.#waiters) {
      if (waiter.match(event)) {
        this.#waiters.delete(waiter);
        waiter.resolve(received);
      }
    }
  };

  constructor(readonly monitor: UdevMonitor) {
    for (const action of ['add', 'change', 'remove', 'move'] as const) monitor.on(action, this.#listener);
  }

  /** The first event (already received or still to come) that matches, or a rejection after timeoutMs. */
  next(action: BlockDeviceAction, sysname: string, extra: Match = () => true, timeoutMs = 1000): Promise<Received> {
    const match: Match = (e) => e.action === action && e.sysname === sysname && extra(e);
    const seen = this.received.find((r) => match(r.event));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (r: Received) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        const seenFor = this.received.filter((r) => r.event.sysname === sysname).map((r) => `${r.event.action}(size ${r.event.sizeBytes})`);
        reject(new Error(`no '${action}' event for ${sysname} within ${timeoutMs} ms; saw for it: [${seenFor.join(', ')}]`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Forget what was received so far (e.g. between steps). */
  clear(): void {
    this.received.length = 0;
  }

  detach(): void {
    for (const action of ['add', 'change', 'remove', 'move'] as const) this.monitor.off(action, this.#listener);
  }
}

export function msSince(start: bigint, end: bigint = process.hrtime.bigint()): number {
  return Number(end - start) / 1e6;
}
