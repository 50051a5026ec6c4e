/**
 * Our own writes, read in place of an informer's cached copy until the cache catches up: a
 * controller that just wrote an object must not decide on the older copy its cache still holds.
 *
 * The trap this closes: the watch may deliver a *later* change (say, someone deleted the object)
 * before the response of our write arrives. Keeping that older response would hide the change
 * until the next event, which may never come. So every read returns whichever copy is newer, a
 * response older than the cache is dropped, and a deleted object's last version is kept a while
 * (a tombstone) so a late response for it is dropped too.
 */
type Versioned = { metadata?: { name?: string; resourceVersion?: string } };

/**
 * The later of two copies of one object by resourceVersion (etcd revisions, compared as numbers).
 * When a version is not a number, `cached` wins: the watch is the source of truth.
 */
export function newerCopy<T extends Versioned>(mine: T | undefined, cached: T | undefined): T | undefined {
  if (!mine || !cached) return mine ?? cached;
  const a = Number(mine.metadata?.resourceVersion);
  const b = Number(cached.metadata?.resourceVersion);
  if (Number.isNaN(a) || Number.isNaN(b)) return cached;
  return a > b ? mine : cached;
}

export interface OwnWritesOptions<T> {
  /** The informer cache's copy of the object of that name. */
  cached: (name: string) => T | undefined;
  /** How long a deleted object's last version is kept (default 10 min). */
  tombstoneMs?: number;
  now?: () => number;
}

export class OwnWrites<T extends Versioned> {
  private readonly written = new Map<string, T>();
  private readonly tombstones = new Map<string, { last: T; at: number }>();
  private readonly tombstoneMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: OwnWritesOptions<T>) {
    this.tombstoneMs = opts.tombstoneMs ?? 10 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** The newest copy known: our write's or the cache's. */
  get(name: string): T | undefined {
    return newerCopy(this.written.get(name), this.opts.cached(name));
  }

  /** Names of objects we hold a write of (to overlay on index lookups). */
  names(): IterableIterator<string> {
    return this.written.keys();
  }

  /** A write of ours returned `obj`; ignored when the cache (or the object's tombstone) is already newer. */
  wrote(obj: T): void {
    const name = obj.metadata!.name!;
    const known = this.opts.cached(name) ?? this.tombstones.get(name)?.last;
    if (known && newerCopy(obj, known) === known) return;
    this.written.set(name, obj);
  }

  /** The informer saw a change: once it has reached our write, our copy is no longer needed. */
  seen(cached: T): void {
    const name = cached.metadata!.name!;
    const mine = this.written.get(name);
    if (mine && newerCopy(mine, cached) === cached) this.written.delete(name);
  }

  /** The informer saw the deletion: drop our copy and keep the last version as a tombstone. */
  deleted(last: T): void {
    const now = this.now();
    for (const [name, t] of this.tombstones) if (now - t.at > this.tombstoneMs) this.tombstones.delete(name);
    this.written.delete(last.metadata!.name!);
    this.tombstones.set(last.metadata!.name!, { last, at: now });
  }
}
