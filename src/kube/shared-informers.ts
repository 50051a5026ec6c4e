/**
 * One informer per (resource, namespace, label selector, field selector) per process. Parts of a
 * process that watch the same objects (loam-node's disk manager and local storage both watch the
 * node's LocalDisks; its replica reconciler and CSI node service both watch the node's replicas)
 * ask this registry instead of making their own, so the process opens one list and one watch per
 * kind and selector, and holds one cache. Each part still calls `start()` and `stop()` on what it
 * was given; the informer runs while any part holds it (see InformerOptions.shared).
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../common/logger.js';
import { Informer, type InformerOptions } from './informer.js';
import type { RestClient } from './rest.js';

export interface SharedInformersOptions {
  /** Logger of the informers (default: each informer's own, or the first asker's). */
  logger?: Logger;
}

export class SharedInformers {
  private readonly informers = new Map<string, Informer<KubernetesObject>>();

  constructor(private readonly rest: RestClient, private readonly defaults: SharedInformersOptions = {}) {}

  /**
   * The process's informer for these objects, made on the first ask. The first asker's options
   * (resync, watchdog, backoff, logger) make it; later askers add their indexers to its cache.
   */
  informer<T extends KubernetesObject>(opts: InformerOptions<T>): Informer<T> {
    const r = opts.resource;
    const key = JSON.stringify([r.group, r.version, r.plural, opts.namespace ?? '', opts.labelSelector ?? '', opts.fieldSelector ?? '']);
    const existing = this.informers.get(key) as Informer<T> | undefined;
    if (existing && !existing.isStopped) {
      for (const [name, fn] of Object.entries(opts.indexers ?? {})) existing.cache.addIndexer(name, fn);
      return existing;
    }
    const made = new Informer<T>(this.rest, { logger: this.defaults.logger, ...opts, shared: true });
    this.informers.set(key, made as unknown as Informer<KubernetesObject>);
    return made;
  }

  /** Informers that are not stopped: the watches this process holds open (or will, once started). */
  get size(): number {
    return [...this.informers.values()].filter((i) => !i.isStopped).length;
  }

  /** Stops every informer whatever its holders (process shutdown). */
  async stopAll(): Promise<void> {
    const all = [...this.informers.values()];
    this.informers.clear();
    await Promise.all(all.map(async (i) => {
      while (!i.isStopped) await i.stop();
    }));
  }
}

/** The process's shared informer when the caller was given the registry, else one of its own. */
export function informerFor<T extends KubernetesObject>(rest: RestClient, opts: InformerOptions<T>, informers?: SharedInformers): Informer<T> {
  return informers ? informers.informer(opts) : new Informer<T>(rest, opts);
}
