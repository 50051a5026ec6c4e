/**
 * Reconciles one LocalDiskClaim, in the shape every Loam reconciler has: read the claim (gone →
 * release what still points at it) → validate → on deletion release its disks and drop the
 * finalizer → add the finalizer → bind matching Available disks under resourceVersion
 * preconditions → record the outcome in status and events. Level-based and idempotent: it reads
 * the caches, never the event that woke it. The binder never touches a disk itself; it only sets or
 * clears `LocalDisk.spec.claimRef`.
 */
import { finalizer, localStorageOwner, validateLocalDisk, validateLocalDiskClaim, type LocalDisk, type LocalDiskClaim } from '../api/index.js';
import type { Logger } from '../common/logger.js';
import type { KubeClients, ReconcileResult } from '../kube/index.js';
import type { ClaimEvents } from './claim-events.js';
import { claimMessage, isBoundTo, matchClaim, type DiskRejection } from './claim-match.js';
import { claimStatus, sameClaimStatus } from './claim-status.js';
import { bindDisk, listDisks, readClaim, readDisk, releaseDisk, setClaimFinalizer, writeClaimStatus } from './claim-writes.js';

/** What the reconciler reads: the informer caches of claims and disks. */
export interface ClaimCaches {
  claim(name: string): LocalDiskClaim | undefined;
  disksOfNode(nodeName: string): LocalDisk[];
  disksClaimedAs(claimName: string): LocalDisk[];
}

export interface ClaimReconcilerOptions {
  clients: Pick<KubeClients, 'rest' | 'customObjects'>;
  caches: ClaimCaches;
  events: ClaimEvents;
  log: Logger;
}

/** Rounds of "match, bind, lost a race, re-read" before the key goes back to the queue. */
const maxBindRounds = 5;
const retrySoon: ReconcileResult = { requeue: true };

export class ClaimReconciler {
  constructor(private readonly opts: ClaimReconcilerOptions) {}

  async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult | void> {
    const claim = this.opts.caches.claim(name);
    if (!claim) return this.releaseOrphans(name, undefined, signal);
    // Releasing needs only the claim's uid: an invalid claim can still be deleted.
    if (claim.metadata.deletionTimestamp) return this.finalize(claim, signal);
    const problems = validateLocalDiskClaim(claim);
    if (problems.length > 0) return this.reportInvalid(claim, problems);
    if (!claim.metadata.finalizers?.includes(finalizer)) {
      const added = await setClaimFinalizer(this.opts.clients, claim, true);
      // The next pass sees the claim with its finalizer (or its newer version) in the cache.
      if (!added.ok) return added.gone ? undefined : retrySoon;
      return this.bind(added.object, signal);
    }
    const orphans = await this.releaseOrphans(name, claim, signal);
    if (orphans) return orphans;
    return this.bind(claim, signal);
  }

  /** Binds matching disks until a pass loses no race, then writes status and events. */
  private async bind(claim: LocalDiskClaim, signal: AbortSignal): Promise<ReconcileResult | void> {
    const owner = claim.spec.owner ?? localStorageOwner;
    const fresh = new Map<string, LocalDisk | undefined>();
    const closed = claim.status?.phase === 'Bound';
    for (let round = 0; round < maxBindRounds; round++) {
      signal.throwIfAborted();
      const { valid, invalid } = this.disksOf(claim.spec.nodeName, fresh);
      const match = matchClaim(claim, valid, { closed });
      let lostRace = false;
      for (const disk of match.chosen) {
        signal.throwIfAborted();
        const result = await bindDisk(this.opts.clients, disk, claim, owner);
        if (result.ok) {
          fresh.set(disk.metadata.name!, result.object);
          this.opts.log.info('bound disk', { disk: disk.metadata.name, devicePath: disk.spec.devicePath, owner });
          await this.opts.events.bound(claim, result.object, owner);
        } else {
          // Someone else changed the disk (another claim took it, loam-node changed its state): re-read, decide again.
          lostRace = true;
          fresh.set(disk.metadata.name!, result.gone ? undefined : await readDisk(this.opts.clients, disk.metadata.name!));
          this.opts.log.info('disk changed while binding; deciding again', { disk: disk.metadata.name, gone: result.gone });
        }
      }
      if (lostRace) continue;
      const final = matchClaim(claim, valid.map((d) => fresh.get(d.metadata.name!) ?? d), { closed: true });
      await this.recordOutcome(claim, final.bound, [...invalid, ...final.rejected], valid.length + invalid.length);
      return;
    }
    return retrySoon;
  }

  /** The disks of a node from the cache, newer copies read after a conflict winning; invalid ones set aside with the reason. */
  private disksOf(nodeName: string, fresh: Map<string, LocalDisk | undefined>): { valid: LocalDisk[]; invalid: DiskRejection[] } {
    const disks = this.opts.caches.disksOfNode(nodeName).map((d) => (fresh.has(d.metadata.name!) ? fresh.get(d.metadata.name!) : d)).filter((d): d is LocalDisk => d !== undefined);
    for (const [name, disk] of fresh) if (disk && disk.spec.nodeName === nodeName && !disks.some((d) => d.metadata.name === name)) disks.push(disk);
    const valid: LocalDisk[] = [];
    const invalid: DiskRejection[] = [];
    for (const disk of disks) {
      const problems = validateLocalDisk(disk);
      if (problems.length === 0) valid.push(disk);
      else invalid.push({ disk, reason: `is not a valid LocalDisk and is skipped (${problems.join('; ')}); loam-node rewrites it on its next pass`, countOnly: false });
    }
    return { valid, invalid };
  }

  private async recordOutcome(claim: LocalDiskClaim, bound: LocalDisk[], rejected: DiskRejection[], knownDisks: number): Promise<void> {
    const status = claimStatus(claim, bound, claimMessage(claim, bound.length, rejected, knownDisks), new Date());
    await this.opts.events.notChosen(claim, rejected);
    if (sameClaimStatus(claim.status, status)) return;
    await writeClaimStatus(this.opts.clients, claim, { ...status });
    this.opts.log.info('claim status', { phase: status.phase, boundDisks: status.boundDisks, statusMessage: status.message });
  }

  private async reportInvalid(claim: LocalDiskClaim, problems: string[]): Promise<void> {
    const message = `invalid claim, skipped until it is fixed: ${problems.join('; ')}`;
    this.opts.log.warn('invalid claim skipped', { problems });
    if (claim.status?.message === message) return;
    await this.opts.events.invalid(claim, problems);
    await writeClaimStatus(this.opts.clients, claim, { phase: claim.status?.phase ?? 'Pending', message });
  }

  /** The claim is being deleted: release its disks that are not InUse, then let it go. */
  private async finalize(claim: LocalDiskClaim, signal: AbortSignal): Promise<ReconcileResult | void> {
    if (!claim.metadata.finalizers?.includes(finalizer)) return;
    const pending = await this.release(claim.metadata.name!, claim, (d) => isBoundTo(d, claim), signal);
    if (pending) return pending;
    const removed = await setClaimFinalizer(this.opts.clients, claim, false);
    if (!removed.ok && removed.conflict) return retrySoon;
    this.opts.events.forget(claim.metadata.uid);
    this.opts.log.info('claim deleted; its disks are released');
  }

  /**
   * Releases disks whose claimRef names `name` but no live claim: the claim is gone (deleted without
   * its finalizer) or was recreated under the same name (another uid).
   */
  private async releaseOrphans(name: string, claim: LocalDiskClaim | undefined, signal: AbortSignal): Promise<ReconcileResult | void> {
    // An InUse disk keeps its claimRef (the event was sent when its claim was deleted): no need to look again.
    const cached = this.opts.caches.disksClaimedAs(name).filter((d) => d.status?.state !== 'InUse' && (!claim || d.spec.claimRef?.uid !== claim.metadata.uid));
    if (cached.length === 0) return;
    if (!claim) {
      // The cache may lag behind a claim just created; only a claim the server does not have is gone.
      const live = await readClaim(this.opts.clients, name);
      if (live) return { requeueAfterMs: 1000 };
    }
    const uid = claim?.metadata.uid;
    return this.release(name, undefined, (d) => d.spec.claimRef?.name === name && d.spec.claimRef.uid !== uid, signal);
  }

  /**
   * Clears claimRef of every disk `which` selects, read straight from the server so a disk bound a
   * moment ago is not missed; an InUse disk stays bound and gets an event. Conflicts re-read the disk.
   */
  private async release(name: string, claim: LocalDiskClaim | undefined, which: (d: LocalDisk) => boolean, signal: AbortSignal): Promise<ReconcileResult | void> {
    const why = claim ? `claim ${name} was deleted` : `its claim ${name} no longer exists`;
    for (let disk of (await listDisks(this.opts.clients)).filter(which)) {
      for (let attempt = 0; ; attempt++) {
        signal.throwIfAborted();
        if (disk.status?.state === 'InUse') {
          this.opts.log.info('disk is InUse; it stays bound', { disk: disk.metadata.name });
          await this.opts.events.keptInUse(claim, withKind(disk));
          break;
        }
        const result = await releaseDisk(this.opts.clients, disk);
        if (result.ok) {
          this.opts.log.info('released disk', { disk: disk.metadata.name, why });
          await this.opts.events.released(claim, withKind(result.object), why);
          break;
        }
        if (result.gone) break;
        const again = await readDisk(this.opts.clients, disk.metadata.name!);
        if (!again || !which(again)) break;
        if (attempt >= maxBindRounds) return retrySoon;
        disk = again;
      }
    }
  }
}

/** Objects of a list carry no apiVersion/kind; events need them to name what they are about. */
function withKind(disk: LocalDisk): LocalDisk {
  return { ...disk, apiVersion: 'loam.io/v1alpha1', kind: 'LocalDisk' };
}
