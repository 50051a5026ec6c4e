/**
 * What the VolumePlacer has promised and its informers have not shown yet: a replica it just
 * created (or grew) is missing from (or smaller in) the replica cache for a few milliseconds, and in
 * a burst the next placement decision runs in exactly that window. Each entry holds the bytes of one
 * replica until the cache shows the replica at least that large, or until `ttlMs` (after which the
 * volume's spec.replicaNodes, read from the cache, keeps counting a replica that was never created).
 */
export interface LedgerEntry {
  replicaName: string;
  volumeName: string;
  nodeName: string;
  poolName: string;
  capacityBytes: number;
}

export class PlacementLedger {
  private readonly entries = new Map<string, LedgerEntry & { expiresAt: number }>();

  constructor(private readonly ttlMs = 120_000, private readonly now: () => number = Date.now) {}

  /** Records (or raises) the bytes promised to a replica; the returned function takes the promise back (the write failed). */
  promise(entry: LedgerEntry): () => void {
    const previous = this.entries.get(entry.replicaName);
    const capacityBytes = Math.max(entry.capacityBytes, previous?.capacityBytes ?? 0);
    const added = { ...entry, capacityBytes, expiresAt: this.now() + this.ttlMs };
    this.entries.set(entry.replicaName, added);
    return () => {
      if (this.entries.get(entry.replicaName) !== added) return;
      if (previous) this.entries.set(entry.replicaName, previous);
      else this.entries.delete(entry.replicaName);
    };
  }

  /** The cache now shows the replica with `capacityBytes`: an entry it covers is no longer needed. */
  settle(replicaName: string, capacityBytes: number): void {
    const entry = this.entries.get(replicaName);
    if (entry && capacityBytes >= entry.capacityBytes) this.entries.delete(replicaName);
  }

  /** The volume is gone: nothing more will be created for it. */
  forgetVolume(volumeName: string): void {
    for (const [name, entry] of this.entries) if (entry.volumeName === volumeName) this.entries.delete(name);
  }

  entriesOn(nodeName: string): LedgerEntry[] {
    const now = this.now();
    const out: LedgerEntry[] = [];
    for (const [name, entry] of this.entries) {
      if (entry.expiresAt <= now) this.entries.delete(name);
      else if (entry.nodeName === nodeName) out.push(entry);
    }
    return out;
  }

  get size(): number {
    return this.entries.size;
  }
}
