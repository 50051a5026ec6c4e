/**
 * Capacity promised to pods whose volumes do not exist yet.
 *
 * Two kinds count. A claim that names its node in `volume.kubernetes.io/selected-node` but has no
 * LocalVolume yet holds its bytes on that node for as long as that stays true (read from the claim
 * cache: durable, however slow provisioning is). And because kube-scheduler runs the next pod's
 * filter while the previous pod's binding cycle is still writing that annotation, a pod that passes
 * the filter reserves the bytes of its not-yet-annotated claims on every node it was allowed on,
 * until they are annotated, the pod is filtered again, or `ttlMs` passes. Over-reserving is safe: a
 * pod turned away for a moment is retried by the scheduler.
 */
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { unboundClaimOf, type UnboundClaim } from './demand.js';
import { selectedNodeAnnotation, type ClusterView, type PoolClass } from './view.js';

interface Reservation {
  claims: UnboundClaim[];
  candidates: Set<string>;
  expiresAt: number;
}

/** The pod being placed: its own reservation and claims do not count against it. */
export interface Placing {
  podUid?: string;
  claimKeys?: Set<string>;
}

export class Reservations {
  private readonly byPod = new Map<string, Reservation>();

  constructor(private readonly ttlMs = 60_000, private readonly now: () => number = Date.now) {}

  /** Records (or replaces) what a pod that just passed the filter may take on `candidates`. */
  reserve(podUid: string, claims: UnboundClaim[], candidates: Iterable<string>): void {
    if (claims.length === 0) {
      this.byPod.delete(podUid);
      return;
    }
    this.byPod.set(podUid, { claims, candidates: new Set(candidates), expiresAt: this.now() + this.ttlMs });
  }

  release(podUid: string): void {
    this.byPod.delete(podUid);
  }

  get size(): number {
    return this.byPod.size;
  }

  /**
   * Bytes reserved on `node` in `poolClass`, leaving out the claims of the pod being placed
   * (`except`). A claim of two replicas reserves on its selected node only: where its second
   * replica goes is decided later, by placement.
   */
  reservedBytes(node: string, poolClass: PoolClass, view: ClusterView, except?: Placing): number {
    let total = 0;
    for (const pvc of view.claimsSelectedFor(node)) {
      const key = `${pvc.metadata?.namespace}/${pvc.metadata?.name}`;
      if (except?.claimKeys?.has(key) || !waitingForVolume(pvc, view)) continue;
      const claim = unboundClaimOf(pvc, key, view);
      if (typeof claim === 'object' && claim.poolClass === poolClass) total += claim.bytes;
    }
    const now = this.now();
    for (const [uid, r] of this.byPod) {
      if (r.expiresAt <= now) {
        this.byPod.delete(uid);
        continue;
      }
      if (uid === except?.podUid || !r.candidates.has(node)) continue;
      for (const claim of r.claims) {
        if (claim.poolClass !== poolClass) continue;
        const [namespace, name] = splitKey(claim.key);
        const pvc = view.claim(namespace, name);
        // Annotated claims are counted above, on their node; bound or provisioned ones by their replicas.
        if (pvc && !pvc.metadata?.annotations?.[selectedNodeAnnotation] && waitingForVolume(pvc, view)) total += claim.bytes;
      }
    }
    return total;
  }
}

/** An unbound claim whose LocalVolume (named `pvc-<uid>`, the CSI volume id) does not exist yet. */
function waitingForVolume(pvc: V1PersistentVolumeClaim, view: ClusterView): boolean {
  return !pvc.spec?.volumeName && !view.volume(`pvc-${pvc.metadata?.uid}`);
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
