/** Server-side apply: Loam states the fields it owns and the API server merges them. */
import type { KubernetesObject } from '@kubernetes/client-node';
import { PatchStrategy } from '@kubernetes/client-node';
import type { KubeClients } from './client.js';
import { apiErrorMessage, isTransient, wrapError } from './errors.js';
import { apiVersionOf, resourcePath, type ResourceRef } from './resource.js';
import { withRetry } from './retry.js';

export const defaultFieldManager = 'loam';

export interface ApplyOptions {
  /** Field manager named in managedFields (default `loam`). */
  fieldManager?: string;
  /**
   * Take over fields another manager owns instead of failing with 409 (default true: a controller
   * is the authority for the fields it applies; set false where a person's edit must win).
   */
  force?: boolean;
  dryRun?: boolean;
}

/**
 * Applies `obj` (apiVersion, kind, metadata.name and, if namespaced, metadata.namespace set) with
 * strict field validation, so a typo in a field name is an error instead of being dropped.
 * Transient failures are retried. Returns the object as stored.
 */
export async function serverSideApply<T extends KubernetesObject>(clients: Pick<KubeClients, 'rest'>, ref: ResourceRef, obj: T, opts: ApplyOptions = {}): Promise<T> {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`cannot apply a ${ref.kind} without metadata.name`);
  const path = resourcePath(ref, obj.metadata?.namespace, name);
  try {
    return await withRetry(
      () =>
        clients.rest.request<T>('PATCH', path, {
          // JSON is YAML, so the apply content type takes the object as JSON.
          body: { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(ref), kind: obj.kind ?? ref.kind },
          contentType: PatchStrategy.ServerSideApply,
          query: { fieldManager: opts.fieldManager ?? defaultFieldManager, force: opts.force ?? true, fieldValidation: 'Strict', dryRun: opts.dryRun ? 'All' : undefined },
        }),
      // A patch the server cannot type (unknown field) also comes back as 500: not worth retrying.
      { what: `apply ${ref.kind} ${name}`, retryable: (err) => isTransient(err) && !/failed to create typed patch object/.test(apiErrorMessage(err)) },
    );
  } catch (err) {
    throw wrapError(`server-side apply of ${ref.kind} ${name} failed`, err);
  }
}
