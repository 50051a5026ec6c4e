/**
 * The claim binder's writes to the API server, each a compare-and-swap: a disk is bound or
 * released by a merge patch of its spec under its resourceVersion, and a claim's finalizer is
 * added or removed under the claim's resourceVersion. A 409 is returned as `conflict` (someone
 * else changed the object: re-read and decide again), never retried blindly.
 */
import { finalizer, loamResources, type LocalDisk, type LocalDiskClaim } from '../api/index.js';
import { isNotFound, mergePatch, patchStatus, resourcePath, type KubeClients } from '../kube/index.js';
import { compareAndSwap, type WriteOutcome } from '../kube/compare-and-swap.js';

export const fieldManager = 'loam-controller';

export type { WriteOutcome };

/** Sets `spec.claimRef` (and `spec.owner`) of a disk, only if it still has the resourceVersion we decided on. */
export function bindDisk(clients: Pick<KubeClients, 'rest'>, disk: LocalDisk, claim: LocalDiskClaim, owner: string): Promise<WriteOutcome<LocalDisk>> {
  const patch = { spec: { claimRef: { name: claim.metadata.name!, uid: claim.metadata.uid! }, owner } };
  return compareAndSwap(() => mergePatch<LocalDisk>(clients, loamResources.localDisks, { name: disk.metadata.name! }, patch, { resourceVersion: disk.metadata.resourceVersion, fieldManager }));
}

/** Clears `spec.claimRef` and `spec.owner` of a disk, only if it still has the resourceVersion we decided on. */
export function releaseDisk(clients: Pick<KubeClients, 'rest'>, disk: LocalDisk): Promise<WriteOutcome<LocalDisk>> {
  const patch = { spec: { claimRef: null, owner: null } };
  return compareAndSwap(() => mergePatch<LocalDisk>(clients, loamResources.localDisks, { name: disk.metadata.name! }, patch, { resourceVersion: disk.metadata.resourceVersion, fieldManager }));
}

/** Adds or removes the claim's finalizer (the whole list is written, so under the claim's resourceVersion). */
export function setClaimFinalizer(clients: Pick<KubeClients, 'rest'>, claim: LocalDiskClaim, present: boolean): Promise<WriteOutcome<LocalDiskClaim>> {
  const others = (claim.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  const finalizers = present ? [...others, finalizer] : others;
  return compareAndSwap(() => mergePatch<LocalDiskClaim>(clients, loamResources.localDiskClaims, { name: claim.metadata.name! }, { metadata: { finalizers } }, { resourceVersion: claim.metadata.resourceVersion, fieldManager }));
}

/** Merge-patches the claim's status; a claim deleted meanwhile is not an error. */
export async function writeClaimStatus(clients: Pick<KubeClients, 'rest' | 'customObjects'>, claim: LocalDiskClaim, status: Record<string, unknown>): Promise<void> {
  try {
    await patchStatus(clients, loamResources.localDiskClaims, { name: claim.metadata.name! }, status, { fieldManager });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Reads one disk straight from the API server (after a conflict the cache may still be behind). */
export async function readDisk(clients: Pick<KubeClients, 'rest'>, name: string): Promise<LocalDisk | undefined> {
  try {
    return await clients.rest.request<LocalDisk>('GET', resourcePath(loamResources.localDisks, undefined, name));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw new Error(`cannot read LocalDisk ${name}`, { cause: err });
  }
}

/** Reads one claim straight from the API server; undefined when it does not exist. */
export async function readClaim(clients: Pick<KubeClients, 'rest'>, name: string): Promise<LocalDiskClaim | undefined> {
  try {
    return await clients.rest.request<LocalDiskClaim>('GET', resourcePath(loamResources.localDiskClaims, undefined, name));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw new Error(`cannot read LocalDiskClaim ${name}`, { cause: err });
  }
}

/** Every LocalDisk straight from the API server (release must not miss a disk the cache has not seen bound yet). */
export async function listDisks(clients: Pick<KubeClients, 'rest'>): Promise<LocalDisk[]> {
  try {
    const list = await clients.rest.request<{ items?: LocalDisk[] }>('GET', resourcePath(loamResources.localDisks));
    return list.items ?? [];
  } catch (err) {
    throw new Error('cannot list LocalDisks', { cause: err });
  }
}
