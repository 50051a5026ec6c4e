/** Wiring an informer to a work queue: every change enqueues the key of the object (level-based). */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Informer } from './informer.js';
import { objectKey } from './resource.js';
import type { WorkQueue } from './workqueue.js';

/**
 * Enqueues a key for each add, update and delete the informer emits. `keysOf` maps an object to
 * the keys to reconcile (default: its own key; e.g. a LocalDisk → the key of its claim). Updates
 * that change nothing but the resourceVersion (a relist of an unchanged object) still enqueue:
 * reconciles are idempotent and cheap to repeat. Returns a function that unhooks it.
 */
export function enqueueOnChange<T extends KubernetesObject>(informer: Informer<T>, queue: Pick<WorkQueue, 'add'>, keysOf: (obj: T) => string[] = (o) => [objectKey(o)]): () => void {
  const enqueue = (obj: T): void => {
    for (const key of keysOf(obj)) queue.add(key);
  };
  const offs = [informer.on('add', enqueue), informer.on('update', (obj, old) => { enqueue(old); enqueue(obj); }), informer.on('delete', enqueue)];
  return () => offs.forEach((off) => off());
}
