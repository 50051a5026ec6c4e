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
  /** Claims still waiting for a node annotation; the ones that got one are dropped by `refresh`. */
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
  /** node → pool class → pending bytes of every live reservation naming the node, kept as a running sum. */
  private readonly pending = new Map<string, Map<PoolClass, number>>();

  constructor(private readonly ttlMs = 60_000, private readonly now: () => number = Date.now) {}

  /** Records (or replaces) what a pod that just passed the filter may take on `candidates`. */
  reserve(podUid: string, claims: UnboundClaim[], candidates: Iterable<string>): void {
    this.release(podUid);
    if (claims.length === 0) return;
    const r: Reservation = { claims: [...claims], candidates: new Set(candidates), expiresAt: this.now() + this.ttlMs };
    this.byPod.set(podUid, r);
    for (const claim of r.claims) this.account(r, claim, +1);
  }

  release(podUid: string): void {
    const r = this.byPod.get(podUid);
    if (!r) return;
    this.byPod.delete(podUid);
    for (const claim of r.claims) this.account(r, claim, -1);
  }

  get size(): number {
    return this.byPod.size;
  }

  /**
   * Drops expired reservations and claims that no longer wait for a node (annotated, bound, or
   * provisioned): run once per request, so each node's sum is a lookup afterwards.
   */
  refresh(view: ClusterView): void {
    const now = this.now();
    for (const [uid, r] of this.byPod) {
      if (r.expiresAt <= now) {
        this.release(uid);
        continue;
      }
      r.claims = r.claims.filter((claim) => {
        const [namespace, name] = splitKey(claim.key);
        const pvc = view.claim(namespace, name);
        const live = pvc !== undefined && !pvc.metadata?.annotations?.[selectedNodeAnnotation] && waitingForVolume(pvc, view);
        if (!live) this.account(r, claim, -1);
        return live;
      });
    }
  }

  /**
   * Bytes reserved on `node` in `poolClass`, leaving out the claims of the pod being placed
   * (`except`). A claim of two replicas reserves on its selected node only: where its second
   * replica goes is decided later, by placement. Call `refresh` first in each request.
   */
  reservedBytes(node: string, poolClass: PoolClass, view: ClusterView, except?: Placing): number {
    let total = 0;
    for (const pvc of view.claimsSelectedFor(node)) {
      const key = `${pvc.metadata?.namespace}/${pvc.metadata?.name}`;
      if (except?.claimKeys?.has(key) || !waitingForVolume(pvc, view)) continue;
      const claim = unboundClaimOf(pvc, key, view);
      if (typeof claim === 'object' && claim.poolClass === poolClass) total += claim.bytes;
    }
    total += this.pending.get(node)?.get(poolClass) ?? 0;
    const own = except?.podUid ? this.byPod.get(except.podUid) : undefined;
    if (own?.candidates.has(node)) {
      for (const claim of own.claims) if (claim.poolClass === poolClass) total -= claim.bytes;
    }
    return total;
  }

  private account(r: Reservation, claim: UnboundClaim, sign: 1 | -1): void {
    for (const node of r.candidates) {
      let byClass = this.pending.get(node);
      if (!byClass) this.pending.set(node, (byClass = new Map()));
      const next = (byClass.get(claim.poolClass) ?? 0) + sign * claim.bytes;
      if (next === 0) byClass.delete(claim.poolClass);
      else byClass.set(claim.poolClass, next);
      if (byClass.size === 0) this.pending.delete(node);
    }
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
