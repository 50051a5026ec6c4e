/**
 * Merge patches: of `/status` (the only way a controller writes status), and of an object's main
 * resource, optionally under a resourceVersion precondition (409 if the object moved on).
 *
 * Custom resources go through client-node's CustomObjectsApi. Its 1.x patch calls send
 * `application/json-patch+json` unless told otherwise, which the server rejects for an object
 * body, so the content type is set to merge-patch explicitly.
 */
import { PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import type { KubeClients } from './client.js';
import { wrapError } from './errors.js';
import { resourcePath, type ResourceRef } from './resource.js';
import { withRetry } from './retry.js';

export interface PatchTarget {
  name: string;
  /** Required for namespaced kinds. */
  namespace?: string;
}

export interface MergePatchOptions {
  /** Fail with 409 unless the object still has this resourceVersion. */
  resourceVersion?: string;
  fieldManager?: string;
}

/**
 * Merge-patches `status` into the object's `/status` subresource and returns the object. Fields
 * set to null are removed; arrays are replaced whole (merge-patch semantics).
 */
export async function patchStatus<T extends KubernetesObject>(clients: Pick<KubeClients, 'rest' | 'customObjects'>, ref: ResourceRef, target: PatchTarget, status: Record<string, unknown>, opts: MergePatchOptions = {}): Promise<T> {
  const body = withPrecondition({ status }, opts.resourceVersion);
  const what = `status patch of ${ref.kind} ${target.namespace ? target.namespace + '/' : ''}${target.name}`;
  try {
    return await withRetry(() => {
      if (ref.group === '') return patchRaw<T>(clients, ref, target, body, 'status', opts);
      const common = { group: ref.group, version: ref.version, plural: ref.plural, name: target.name, body, fieldManager: opts.fieldManager ?? 'loam' };
      const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      const call = ref.namespaced
        ? clients.customObjects.patchNamespacedCustomObjectStatus({ ...common, namespace: requireNamespace(ref, target) }, options)
        : clients.customObjects.patchClusterCustomObjectStatus(common, options);
      return call as Promise<T>;
    }, { what });
  } catch (err) {
    throw wrapError(`${what} failed`, err);
  }
}

/** Merge-patches the object itself (not its status), e.g. to set one field under a precondition. */
export async function mergePatch<T extends KubernetesObject>(clients: Pick<KubeClients, 'rest'>, ref: ResourceRef, target: PatchTarget, patch: Record<string, unknown>, opts: MergePatchOptions = {}): Promise<T> {
  const what = `merge patch of ${ref.kind} ${target.namespace ? target.namespace + '/' : ''}${target.name}`;
  try {
    return await withRetry(() => patchRaw<T>(clients, ref, target, withPrecondition(patch, opts.resourceVersion), undefined, opts), { what });
  } catch (err) {
    throw wrapError(`${what} failed`, err);
  }
}

function patchRaw<T>(clients: Pick<KubeClients, 'rest'>, ref: ResourceRef, target: PatchTarget, body: Record<string, unknown>, subresource: string | undefined, opts: MergePatchOptions): Promise<T> {
  return clients.rest.request<T>('PATCH', resourcePath(ref, requireNamespace(ref, target), target.name, subresource), {
    body,
    contentType: PatchStrategy.MergePatch,
    query: { fieldManager: opts.fieldManager ?? 'loam' },
  });
}

/** A resourceVersion in a merge patch makes the server check it (optimistic concurrency). */
function withPrecondition(patch: Record<string, unknown>, resourceVersion: string | undefined): Record<string, unknown> {
  if (resourceVersion === undefined) return patch;
  const metadata = (patch.metadata ?? {}) as Record<string, unknown>;
  return { ...patch, metadata: { ...metadata, resourceVersion } };
}

function requireNamespace(ref: ResourceRef, target: PatchTarget): string {
  if (!ref.namespaced) return '';
  if (!target.namespace) throw new Error(`${ref.kind} ${target.name} is namespaced: a namespace is required`);
  return target.namespace;
}
