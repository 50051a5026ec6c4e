/**
 * The events a user reads with `kubectl describe lv <name>`: where the volume was placed, why it
 * waits, why it cannot grow, which replica was lost with its node or is gone, why its deletion waits. A volume is reconciled on every
 * change of any LocalStorageNode while it waits, so a warning is sent when its text changes, not
 * on every pass.
 */
import type { LocalVolume, LocalVolumeReplica } from '../api/index.js';
import type { EventRecorder } from '../kube/index.js';

export class VolumeEvents {
  /** Volume uid → reason → the note last reported. */
  private readonly reported = new Map<string, Map<string, string>>();

  constructor(private readonly recorder: EventRecorder) {}

  async placed(volume: LocalVolume, nodes: readonly string[], poolName: string): Promise<void> {
    this.clear(volume, 'NotPlaced');
    await this.recorder.record(volume, { type: 'Normal', reason: 'Placed', action: 'Place', note: `placed ${nodes.length === 1 ? 'its replica' : 'its replicas'} on ${nodes.join(', ')} (pool ${poolName})` });
  }

  /** The volume stays Pending: `message` names the largest pool. */
  async notPlaced(volume: LocalVolume, message: string): Promise<void> {
    await this.once(volume, 'NotPlaced', 'Place', message);
  }

  async growing(volume: LocalVolume, replicas: readonly string[], capacity: string): Promise<void> {
    this.clear(volume, 'ExpandBlocked');
    await this.recorder.record(volume, { type: 'Normal', reason: 'Expanding', action: 'Expand', note: `growing ${replicas.join(', ')} to ${capacity}` });
  }

  async expandBlocked(volume: LocalVolume, message: string): Promise<void> {
    await this.once(volume, 'ExpandBlocked', 'Expand', message);
  }

  async replicaLost(volume: LocalVolume, message: string): Promise<void> {
    await this.once(volume, 'ReplicaLost', 'Reconcile', message);
  }

  /** A replica is gone from a volume that held data, and is not made again (volume-status.ts). */
  async replicaGone(volume: LocalVolume, message: string): Promise<void> {
    await this.once(volume, 'ReplicaGone', 'Reconcile', message);
  }

  /** A replica was deleted by hand; its node agent keeps it and its LV while the volume lives. */
  async replicaDeletionHeld(volume: LocalVolume, message: string): Promise<void> {
    await this.once(volume, 'ReplicaDeletionHeld', 'Reconcile', message);
  }

  /** The volume is being deleted but a PersistentVolume still uses it (volume-protection.ts). */
  async deletionHeld(volume: LocalVolume, message: string): Promise<void> {
    await this.once(volume, 'DeletionHeld', 'Delete', message);
  }

  async invalid(volume: LocalVolume, problems: readonly string[]): Promise<void> {
    await this.once(volume, 'InvalidVolume', 'Validate', `the volume is invalid and is skipped until it is fixed: ${problems.join('; ')}`);
  }

  /** No node agent will ever remove this replica's LV: its node left the cluster. */
  async replicaAbandoned(regarding: LocalVolume | LocalVolumeReplica, replica: LocalVolumeReplica, node: string): Promise<void> {
    await this.recorder.record(regarding, {
      type: 'Warning', reason: 'ReplicaAbandoned', action: 'Delete', related: regarding === replica ? undefined : replica,
      note: `node ${node} was deleted from the cluster: replica ${replica.metadata.name} is removed without removing its LV, which stays on that node's disks`,
    });
  }

  /** Forgets what was reported for a volume that is gone. */
  forget(uid: string | undefined): void {
    if (uid) this.reported.delete(uid);
  }

  private async once(volume: LocalVolume, reason: string, action: string, note: string): Promise<void> {
    const uid = volume.metadata.uid ?? volume.metadata.name!;
    const seen = this.reported.get(uid) ?? new Map<string, string>();
    this.reported.set(uid, seen);
    if (seen.get(reason) === note) return;
    seen.set(reason, note);
    await this.recorder.record(volume, { type: 'Warning', reason, action, note });
  }

  private clear(volume: LocalVolume, reason: string): void {
    this.reported.get(volume.metadata.uid ?? volume.metadata.name!)?.delete(reason);
  }
}
