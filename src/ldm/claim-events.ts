/**
 * The events a claim's user reads with `kubectl describe ldc` (or `kubectl get events`): one per
 * disk bound or released, and one per disk not chosen with the reason. A reconcile runs on every
 * change of any disk of the node, so "not chosen" events are sent only when a disk's reason
 * changes, not on every pass.
 */
import { formatCapacity, type LocalDisk, type LocalDiskClaim } from '../api/index.js';
import type { EventRecorder } from '../kube/index.js';
import type { DiskRejection } from './claim-match.js';

/** `n1-ab12 (/dev/sdb, 2Gi SSD)`: a disk as a person recognises it. */
export function diskLabel(disk: LocalDisk): string {
  return `${disk.metadata.name} (${disk.spec.devicePath}, ${formatCapacity(disk.spec.capacityBytes)} ${disk.spec.mediaClass})`;
}

export class ClaimEvents {
  /** Claim uid → disk name → the reason last reported. */
  private readonly reported = new Map<string, Map<string, string>>();

  constructor(private readonly recorder: EventRecorder) {}

  /** One `DiskNotChosen` event per disk whose reason is new or changed since the last report. */
  async notChosen(claim: LocalDiskClaim, rejected: readonly DiskRejection[]): Promise<void> {
    const uid = claim.metadata.uid ?? '';
    const seen = this.reported.get(uid) ?? new Map<string, string>();
    this.reported.set(uid, seen);
    const writes: Promise<unknown>[] = [];
    for (const { disk, reason } of rejected) {
      const name = disk.metadata.name!;
      if (seen.get(name) === reason) continue;
      seen.set(name, reason);
      writes.push(this.recorder.record(claim, { type: 'Normal', reason: 'DiskNotChosen', action: 'Bind', note: `disk ${diskLabel(disk)} not chosen: it ${reason}`, related: disk }));
    }
    await Promise.all(writes);
  }

  /** A disk was bound to the claim: the claim's next pass may report it differently if it is released. */
  async bound(claim: LocalDiskClaim, disk: LocalDisk, owner: string): Promise<void> {
    this.reported.get(claim.metadata.uid ?? '')?.delete(disk.metadata.name!);
    await this.recorder.record(claim, { type: 'Normal', reason: 'DiskBound', action: 'Bind', note: `bound disk ${diskLabel(disk)} for owner ${owner}`, related: disk });
  }

  async released(claim: LocalDiskClaim | undefined, disk: LocalDisk, why: string): Promise<void> {
    const regarding = claim ?? disk;
    await this.recorder.record(regarding, { type: 'Normal', reason: 'DiskReleased', action: 'Release', note: `released disk ${diskLabel(disk)}: ${why}; it is Available again`, related: claim ? disk : undefined });
  }

  /** An InUse disk stays bound after its claim is deleted: say so on the claim and on the disk. */
  async keptInUse(claim: LocalDiskClaim | undefined, disk: LocalDisk): Promise<void> {
    const note = `disk ${diskLabel(disk)} is InUse (a physical volume of a Loam pool), so it stays bound to claim ${disk.spec.claimRef?.name} after the claim is deleted; `
      + 'move its volumes off and remove it from the pool to free it';
    await Promise.all([
      this.recorder.record(disk, { type: 'Warning', reason: 'DiskInUse', action: 'Release', note, related: claim }),
      claim ? this.recorder.record(claim, { type: 'Warning', reason: 'DiskInUse', action: 'Release', note, related: disk }) : undefined,
    ]);
  }

  async invalid(claim: LocalDiskClaim, problems: readonly string[]): Promise<void> {
    await this.recorder.record(claim, { type: 'Warning', reason: 'InvalidClaim', action: 'Validate', note: `the claim is invalid and is skipped until it is fixed: ${problems.join('; ')}` });
  }

  /** Forgets what was reported for a claim that is gone. */
  forget(uid: string | undefined): void {
    if (uid) this.reported.delete(uid);
  }
}
