/**
 * A typed informer: lists, then watches from the list's resourceVersion, and keeps a cache.
 *
 * One loop owns the connection, so there is exactly one place that restarts it, with one backoff:
 * every trigger (a failed or cut watch, 410 Gone, the periodic relist, the watchdog of a silent
 * watch, `reconnect()`) only ends the current watch or sets a flag, and the loop decides what to do
 * next. A 410 or a periodic relist lists again and compares the result with the cache, emitting
 * synthetic add/update/delete for what the watch missed; any other failure waits out the backoff
 * and watches again from the last resourceVersion seen.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { componentLogger, type Logger } from '../common/logger.js';
import { Backoff, sleep, type BackoffOptions } from './backoff.js';
import { diffSnapshot, ObjectCache, type IndexFunc } from './cache.js';
import { TypedEmitter } from './emitter.js';
import { apiErrorMessage, isGone, isRefusal, refusalHint, statusCodeOf } from './errors.js';
import { objectKey, resourcePath, type ResourceRef } from './resource.js';
import type { RestClient, WatchEvent } from './rest.js';

/** Where an object event came from: the watch stream, or a (re)list that compared with the cache. */
export type EventSource = 'watch' | 'list';

export type RelistReason = 'initial' | 'expired' | 'resync' | 'error';

export interface InformerEvents<T> {
  add: (obj: T, source: EventSource) => void;
  update: (obj: T, old: T, source: EventSource) => void;
  delete: (obj: T, source: EventSource) => void;
  /** A watch was accepted by the server. */
  connected: (info: { resourceVersion: string }) => void;
  /** The connection failed or was cut; the next try comes after `delayMs`. */
  reconnecting: (info: { attempt: number; delayMs: number; reason: string }) => void;
  /** A list was compared with the cache; counts are what it repaired. */
  relisted: (info: { reason: RelistReason; added: number; updated: number; deleted: number; total: number; durationMs: number }) => void;
  error: (err: Error) => void;
}

export interface InformerOptions<T> {
  resource: ResourceRef;
  /** Only this namespace (namespaced kinds); all namespaces when unset. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  indexers?: Record<string, IndexFunc<T>>;
  /** Relist and repair the cache this often, in ms (default 5 min; 0 turns it off). */
  resyncMs?: number;
  /** Restart a watch that has delivered nothing, not even a bookmark, for this long (default 2 min). */
  watchdogMs?: number;
  /** Backoff between failed attempts (default 200 ms doubling to 5 s, 20 % jitter). */
  backoff?: BackoffOptions;
  /** Page size of lists (default 500). */
  pageSize?: number;
  logger?: Logger;
  /**
   * Several parts of the process use this informer (SharedInformers sets it): each part's
   * `start()` must be matched by its `stop()`, and the watch ends with the last one; a listener
   * for `add` that arrives after the first sync is handed the cached objects (source `list`), as
   * if it had been there from the start.
   */
  shared?: boolean;
}

interface ListResponse<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

/** Why the loop ended a watch itself. */
class WatchRestart extends Error {
  constructor(readonly why: 'resync' | 'watchdog' | 'reconnect' | 'stop') {
    super(`watch restart: ${why}`);
  }
}

/** The server sent 410 Gone inside the stream or as the answer. */
class WatchExpired extends Error {}

const stableWatchMs = 1000;

export class Informer<T extends KubernetesObject> extends TypedEmitter<InformerEvents<T>> {
  readonly cache: ObjectCache<T>;
  private readonly opts: InformerOptions<T>;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly stopController = new AbortController();
  private watchAbort?: AbortController;
  private loop?: Promise<void>;
  private resourceVersion = '';
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private resyncDue = false;
  private resyncTimer?: NodeJS.Timeout;
  private rewatchFrom?: string;
  /** Parts of the process that started this shared informer and have not stopped it. */
  private holders = 0;
  /** The last relist "not older than" the cache failed: list from any version next time. */
  private listFloorFailed = false;

  constructor(private readonly rest: RestClient, opts: InformerOptions<T>) {
    super((event, err) => this.log.error('informer listener threw', { event: String(event), error: (err as Error)?.message }));
    this.opts = opts;
    this.cache = new ObjectCache<T>(opts.indexers ?? {});
    const ref = opts.resource;
    this.log = (opts.logger ?? componentLogger('informer')).child({ resource: `${ref.plural}${ref.group ? '.' + ref.group : ''}`, namespace: opts.namespace });
    // Capped at 5 s: after an API server outage every watch is back within 6 s of its return, so
    // the whole agent converges within 30 s (docs/faults.md); a 30 s cap left watches idle for up
    // to 36 s after the server answered again. A failed attempt every 5 s costs a down server nothing.
    this.backoff = new Backoff(opts.backoff ?? { baseMs: 200, maxMs: 5_000, jitter: 0.2 });
  }

  /** Starts listing and watching; returns at once (see `waitForSync`). */
  start(): void {
    if (this.opts.shared) this.holders++;
    if (this.loop) return;
    const resyncMs = this.opts.resyncMs ?? 5 * 60_000;
    if (resyncMs > 0) {
      this.resyncTimer = setInterval(() => {
        this.resyncDue = true;
        this.watchAbort?.abort(new WatchRestart('resync'));
      }, resyncMs);
    }
    this.loop = this.run();
  }

  /** Stops the watch and the timers; resolves when the loop has ended (a shared one: when its last user stops). */
  async stop(): Promise<void> {
    if (this.opts.shared) {
      this.holders = Math.max(0, this.holders - 1);
      if (this.holders > 0) return;
    }
    clearInterval(this.resyncTimer);
    this.stopController.abort(new WatchRestart('stop'));
    this.watchAbort?.abort(new WatchRestart('stop'));
    await this.loop;
  }

  /** True once stopped for good (a stopped informer cannot start again). */
  get isStopped(): boolean {
    return this.stopController.signal.aborted;
  }

  /** Adds a listener; on a shared informer that has synced, a late `add` listener first gets the cache. */
  override on<K extends keyof InformerEvents<T>>(event: K, listener: InformerEvents<T>[K]): () => void {
    const off = super.on(event, listener);
    if (this.opts.shared && event === 'add' && this.synced) {
      for (const obj of this.cache.list()) {
        try {
          (listener as InformerEvents<T>['add'])(obj, 'list');
        } catch (err) {
          this.log.error('informer listener threw', { event: 'add', error: (err as Error)?.message });
        }
      }
    }
    return off;
  }

  /** True once the first list has been applied to the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves when the cache has been filled by the first list; rejects after `timeoutMs`. */
  waitForSync(timeoutMs = 60_000): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`informer for ${this.opts.resource.plural} did not sync within ${timeoutMs} ms`)), timeoutMs);
      this.syncWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The resourceVersion the next watch starts from (the last one seen). */
  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  /**
   * Ends the current watch and watches again, from `fromResourceVersion` if given (an old one
   * makes the server answer 410, which the informer repairs by relisting).
   */
  reconnect(fromResourceVersion?: string): void {
    this.rewatchFrom = fromResourceVersion;
    this.watchAbort?.abort(new WatchRestart('reconnect'));
  }

  private async run(): Promise<void> {
    let relistReason: RelistReason | undefined = 'initial';
    let attempt = 0;
    const stopSignal = this.stopController.signal;
    while (!stopSignal.aborted) {
      try {
        if (this.resyncDue && relistReason === undefined) relistReason = 'resync';
        if (relistReason !== undefined) {
          await this.relist(relistReason);
          relistReason = undefined;
          attempt = 0;
          this.backoff.reset();
        }
        const started = performance.now();
        await this.watchOnce();
        // The server ended the watch (its timeout): watch again at once, unless it keeps doing so fast.
        if (performance.now() - started < stableWatchMs) throw new Error('watch closed right after it opened');
      } catch (err) {
        if (stopSignal.aborted) break;
        if (err instanceof WatchRestart) {
          if (err.why === 'resync') relistReason = 'resync';
          if (err.why !== 'watchdog') continue;
        }
        if (err instanceof WatchExpired || isGone(err)) {
          // The resourceVersion is too old: only a new list can say what the state is.
          this.log.info('watch expired (410); relisting');
          relistReason = 'expired';
          continue;
        }
        attempt++;
        const delayMs = this.backoff.next();
        const reason = err instanceof WatchRestart ? 'watch was silent too long' : apiErrorMessage(err);
        if (!(err instanceof WatchRestart)) this.emit('error', err instanceof Error ? err : new Error(String(err)));
        if (isRefusal(err)) {
          // The server answered and will answer the same until someone fixes the cause: say so.
          // Still retried (RBAC or a CRD may be fixed while Loam runs), with the same backoff.
          this.log.error(`the API server refused the request: ${refusalHint(err)}; not a connection problem, retrying will not help until that is fixed`, { code: statusCodeOf(err), reason, attempt, delayMs: Math.round(delayMs) });
        } else {
          this.log.warn('informer connection lost; retrying', { attempt, delayMs: Math.round(delayMs), reason });
        }
        this.emit('reconnecting', { attempt, delayMs, reason });
        // Before the first sync there is nothing to watch from: list again.
        if (!this.synced) relistReason = 'initial';
        await sleep(delayMs, stopSignal).catch(() => undefined);
      }
    }
  }

  private async relist(reason: RelistReason): Promise<void> {
    const started = performance.now();
    this.resyncDue = false;
    const { items, resourceVersion } = await this.listAll();
    const diff = diffSnapshot(this.cache, items);
    this.resourceVersion = resourceVersion;
    for (const obj of diff.deleted) {
      this.cache.remove(objectKey(obj));
      this.emit('delete', obj, 'list');
    }
    for (const { old, obj } of diff.updated) {
      this.cache.upsert(obj);
      this.emit('update', obj, old, 'list');
    }
    for (const obj of diff.added) {
      this.cache.upsert(obj);
      this.emit('add', obj, 'list');
    }
    const info = { reason, added: diff.added.length, updated: diff.updated.length, deleted: diff.deleted.length, total: items.length, durationMs: performance.now() - started };
    this.log.info('relisted', { ...info, durationMs: Math.round(info.durationMs) });
    this.emit('relisted', info);
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  /**
   * Lists every page of one snapshot from the API server's watch cache, never as a quorum read of
   * etcd (an empty resourceVersion), which costs etcd a full range read per informer per relist.
   * The first list takes any version the cache holds (`resourceVersion=0`); a relist asks for one
   * not older than the last version seen (`NotOlderThan`), also served by the cache, so a relist
   * from a lagging API server cannot move the cache back in time. If such a list fails (say the
   * server's history was restored to an older version), the next one asks for `0` again.
   */
  private async listAll(): Promise<{ items: T[]; resourceVersion: string }> {
    const path = resourcePath(this.opts.resource, this.opts.namespace);
    const floor = this.synced && !this.listFloorFailed ? this.resourceVersion : '';
    const items: T[] = [];
    let resourceVersion = '';
    let cont: string | undefined;
    do {
      // A continue token carries the snapshot's version itself; the server refuses both together.
      const version = cont ? {} : floor ? { resourceVersion: floor, resourceVersionMatch: 'NotOlderThan' } : { resourceVersion: '0' };
      const page = await this.rest.request<ListResponse<T>>('GET', path, {
        query: { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, limit: this.opts.pageSize ?? 500, continue: cont, ...version },
        signal: this.stopController.signal,
      }).catch((err: unknown) => {
        if (floor) this.listFloorFailed = true;
        throw err;
      });
      this.listFloorFailed = false;
      // Every page of one list is the same snapshot; the first page's version names it.
      if (!resourceVersion) resourceVersion = page.metadata?.resourceVersion ?? '';
      items.push(...(page.items ?? []).map((o) => this.withKind(o)));
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, resourceVersion };
  }

  private async watchOnce(): Promise<void> {
    const abort = new AbortController();
    this.watchAbort = abort;
    // stop() may have run between the relist and here, when there was no watch to abort.
    if (this.stopController.signal.aborted) abort.abort(new WatchRestart('stop'));
    const fromRv = this.rewatchFrom ?? this.resourceVersion;
    this.rewatchFrom = undefined;
    const watchdogMs = this.opts.watchdogMs ?? 120_000;
    const watchdog = setTimeout(() => abort.abort(new WatchRestart('watchdog')), watchdogMs);
    try {
      await this.rest.watch<T>(
        resourcePath(this.opts.resource, this.opts.namespace),
        {
          query: {
            resourceVersion: fromRv,
            allowWatchBookmarks: true,
            labelSelector: this.opts.labelSelector,
            fieldSelector: this.opts.fieldSelector,
            // The server ends each watch after 5-10 min; spread so informers do not reconnect together.
            timeoutSeconds: 300 + Math.floor(Math.random() * 300),
          },
          signal: abort.signal,
          onConnected: () => {
            watchdog.refresh();
            this.log.debug('watch connected', { resourceVersion: fromRv });
            this.emit('connected', { resourceVersion: fromRv });
          },
        },
        (event) => {
          watchdog.refresh();
          this.handleEvent(event);
        },
      );
    } catch (err) {
      // An abort surfaces as its reason (a WatchRestart) so the loop knows who asked.
      throw abort.signal.aborted ? abort.signal.reason : err;
    } finally {
      clearTimeout(watchdog);
      if (this.watchAbort === abort) this.watchAbort = undefined;
    }
  }

  private handleEvent(event: WatchEvent<T>): void {
    if (event.type === 'ERROR') {
      const status = event.object as unknown as { code?: number; message?: string };
      if (status.code === 410) throw new WatchExpired(status.message ?? 'resourceVersion too old');
      throw Object.assign(new Error(`watch error: ${status.message ?? JSON.stringify(status)}`), { code: status.code });
    }
    const rv = event.object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (event.type === 'BOOKMARK') return;
    const obj = this.withKind(event.object);
    if (event.type === 'DELETED') {
      this.cache.remove(objectKey(obj));
      this.emit('delete', obj, 'watch');
      return;
    }
    const old = this.cache.upsert(obj);
    if (old) this.emit('update', obj, old, 'watch');
    else this.emit('add', obj, 'watch');
  }

  /** List items come without apiVersion/kind; fill them in so handlers can rely on them. */
  private withKind(obj: T): T {
    if (obj.kind && obj.apiVersion) return obj;
    const ref = this.opts.resource;
    return { ...obj, apiVersion: ref.group ? `${ref.group}/${ref.version}` : ref.version, kind: ref.kind };
  }
}
