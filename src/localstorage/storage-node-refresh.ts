/**
 * Runs a job (read LVM, write the LocalStorageNode) one at a time, with the guarantee callers of
 * `onPoolsChanged` need: the promise a call gets settles after a run that *started after the
 * call*. A call while a run is in flight waits for the next run; every call made meanwhile shares
 * that one run, so a burst of changes costs two runs, not one per change.
 */
export class CoalescingRunner {
  private running?: Promise<void>;
  private next?: Promise<void>;

  constructor(private readonly job: () => Promise<void>) {}

  run(): Promise<void> {
    if (this.next) return this.next;
    if (!this.running) {
      this.running = this.job().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.next = this.running.catch(() => undefined).then(() => {
      this.next = undefined;
      return this.run();
    });
    return this.next;
  }

  /** Resolves when nothing runs or waits (for shutdown). */
  async idle(): Promise<void> {
    while (this.running || this.next) await (this.next ?? this.running)!.catch(() => undefined);
  }
}
