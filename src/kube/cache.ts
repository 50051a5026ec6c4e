/**
 * The informer's store: objects by key (`namespace/name`), with optional secondary indexes such as
 * "by node label" or "by spec field", kept current on every change.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { objectKey } from './resource.js';

/** Index values of an object (none, one or several). */
export type IndexFunc<T> = (obj: T) => string[];

/** Indexes objects by the value of a label, e.g. `loam.io/node`. */
export function labelIndex<T extends KubernetesObject>(label: string): IndexFunc<T> {
  return (obj) => {
    const v = obj.metadata?.labels?.[label];
    return v === undefined ? [] : [v];
  };
}

/** Indexes objects by a field read from the object, e.g. `(ld) => ld.spec.nodeName`. */
export function fieldIndex<T>(read: (obj: T) => string | undefined | null): IndexFunc<T> {
  return (obj) => {
    const v = read(obj);
    return v === undefined || v === null || v === '' ? [] : [v];
  };
}

export class ObjectCache<T extends KubernetesObject> {
  private readonly items = new Map<string, T>();
  /** index name → index value → keys */
  private readonly indexes = new Map<string, Map<string, Set<string>>>();

  private readonly indexers: Record<string, IndexFunc<T>>;

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    this.indexers = { ...indexers };
    for (const name of Object.keys(indexers)) this.indexes.set(name, new Map());
  }

  /**
   * Adds an index and fills it from what the cache holds (a shared informer's later users bring
   * their own). A name already taken keeps its first function: index names mean one thing per kind.
   */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    if (this.indexers[name]) return;
    this.indexers[name] = fn;
    this.indexes.set(name, new Map());
    for (const [key, obj] of this.items) this.addToIndex(name, fn, key, obj);
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  get size(): number {
    return this.items.size;
  }

  /** Objects whose index `indexName` has `value`. */
  byIndex(indexName: string, value: string): T[] {
    const index = this.indexes.get(indexName);
    if (!index) throw new Error(`no index named ${indexName}`);
    return [...(index.get(value) ?? [])].map((k) => this.items.get(k)).filter((o): o is T => o !== undefined);
  }

  /** Adds or replaces an object; returns the previous version. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    this.index(key, obj);
    return old;
  }

  /** Removes the object under `key`; returns it. */
  remove(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  private index(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.indexers)) this.addToIndex(name, fn, key, obj);
  }

  private addToIndex(name: string, fn: IndexFunc<T>, key: string, obj: T): void {
    const index = this.indexes.get(name)!;
    for (const v of fn(obj)) {
      let keys = index.get(v);
      if (!keys) index.set(v, (keys = new Set()));
      keys.add(key);
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const index = this.indexes.get(name)!;
      for (const v of fn(obj)) {
        const keys = index.get(v);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(v);
      }
    }
  }
}

/** What changed between the cache and a fresh list, by key. */
export interface SnapshotDiff<T> {
  added: T[];
  updated: Array<{ old: T; obj: T }>;
  deleted: T[];
}

/**
 * Compares the cache with a complete list of objects: new keys are added, keys whose
 * resourceVersion differs are updated, keys missing from the list are deleted. Pure: the caller
 * applies the diff.
 */
export function diffSnapshot<T extends KubernetesObject>(cache: ObjectCache<T>, items: T[]): SnapshotDiff<T> {
  const diff: SnapshotDiff<T> = { added: [], updated: [], deleted: [] };
  const seen = new Set<string>();
  for (const obj of items) {
    const key = objectKey(obj);
    seen.add(key);
    const old = cache.get(key);
    if (!old) diff.added.push(obj);
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) diff.updated.push({ old, obj });
  }
  for (const key of cache.keys()) if (!seen.has(key)) diff.deleted.push(cache.get(key)!);
  return diff;
}
