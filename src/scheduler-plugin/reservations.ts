/**
 * Capacity promised to pods whose volumes do not exist yet, counted on top of the room placement
 * sees (room.ts).
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
  claim: UnboundClaim;
  candidates: Set<string>;
  expiresAt: number;
}

/** The pod being placed: the reservations of its own claims (`namespace/name`) do not count against it. */
export interface Placing {
  claimKeys?: Set<string>;
}

/** Reservations held at most; more than this many claims waiting at once is not a real cluster. */
export const defaultMaxReservations = 10_000;

/**
 * Pending reservations, one per claim: by the claim's `namespace/name`, checked against its UID. A
 * filter call names a pod, and anyone who can reach the extender can make one up; keying by the
 * pod would let made-up pods hold a real claim's bytes once per call. Keyed by claim, a claim is
 * reserved once however often it is filtered, and the table is bounded by the claims that exist
 * and wait, and by `maxEntries` (the oldest go first; evictions are counted for the metrics).
 */
export class Reservations {
  /** Oldest first: every reserve re-inserts, and the TTL is one, so this is also expiry order. */
  private readonly byClaim = new Map<string, Reservation>();
  /** node → pool class → pending bytes of every live reservation naming the node, kept as a running sum. */
  private readonly pending = new Map<string, Map<PoolClass, number>>();
  private evictions = 0;

  constructor(private readonly ttlMs = 60_000, private readonly now: () => number = Date.now, private readonly maxEntries = defaultMaxReservations) {}

  /** Records (or replaces) what claims of a pod that just passed the filter may take on `candidates`. */
  reserve(claims: readonly UnboundClaim[], candidates: Iterable<string>): void {
    const nodes = new Set(candidates);
    const expiresAt = this.now() + this.ttlMs;
    for (const claim of claims) {
      this.release(claim.key);
      if (nodes.size === 0) continue;
      const r: Reservation = { claim, candidates: nodes, expiresAt };
      this.byClaim.set(claim.key, r);
      this.account(r, +1);
    }
    this.bound();
  }

  get size(): number {
    return this.byClaim.size;
  }

  /** Live reservations dropped because the table was full. */
  get evicted(): number {
    return this.evictions;
  }

  /**
   * Drops expired reservations and claims that no longer wait for a node (gone, replaced by a new
   * claim of the same name, annotated, bound, or provisioned): run once per request, so each
   * node's sum is a lookup afterwards.
   */
  refresh(view: ClusterView): void {
    const now = this.now();
    for (const [key, r] of this.byClaim) {
      if (r.expiresAt <= now) {
        this.release(key);
        continue;
      }
      const [namespace, name] = splitKey(key);
      const pvc = view.claim(namespace, name);
      const live = pvc !== undefined && (pvc.metadata?.uid ?? key) === r.claim.uid
        && !pvc.metadata?.annotations?.[selectedNodeAnnotation] && waitingForVolume(pvc, view);
      if (!live) this.release(key);
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
    for (const key of except?.claimKeys ?? []) {
      const own = this.byClaim.get(key);
      if (own?.candidates.has(node) && own.claim.poolClass === poolClass) total -= own.claim.bytes;
    }
    return total;
  }

  private release(key: string): void {
    const r = this.byClaim.get(key);
    if (!r) return;
    this.byClaim.delete(key);
    this.account(r, -1);
  }

  /** Keeps at most `maxEntries`: the oldest go first; an expired one is only dropped, a live one counts as evicted. */
  private bound(): void {
    const now = this.now();
    for (const [key, r] of this.byClaim) {
      if (this.byClaim.size <= this.maxEntries) return;
      if (r.expiresAt > now) this.evictions++;
      this.release(key);
    }
  }

  private account(r: Reservation, sign: 1 | -1): void {
    const { poolClass, bytes } = r.claim;
    for (const node of r.candidates) {
      let byClass = this.pending.get(node);
      if (!byClass) this.pending.set(node, (byClass = new Map()));
      const next = (byClass.get(poolClass) ?? 0) + sign * bytes;
      if (next === 0) byClass.delete(poolClass);
      else byClass.set(poolClass, next);
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
