/**
 * Writes the node's unowned LVs (orphans-lvs.ts) into LocalStorageNode status.unownedVolumes with a
 * merge patch of that field alone (the pool report writes the others), only when the list changed,
 * and a Warning event on the LocalStorageNode for each LV when it is first seen. A failed write is
 * logged and tried again on the next pass: the report is a view of LVM, never a reason to act.
 */
import { apiVersion, loamResources, type LocalStorageNode, type UnownedVolume } from '../api/index.js';
import type { Logger } from '../common/logger.js';
import { isNotFound, patchStatus, type EventRecorder, type KubeClients } from '../kube/index.js';

export interface UnownedLvReporterOptions {
  clients: KubeClients;
  nodeName: string;
  recorder: EventRecorder;
  fieldManager: string;
  log: Logger;
}

const keyOf = (u: UnownedVolume): string => `${u.vgName}/${u.lvName}/${u.replicaUid ?? ''}`;

export class UnownedLvReporter {
  /** What the status shows (undefined until the first write, so a restart writes once). */
  private written?: string;
  private readonly announced = new Set<string>();

  constructor(private readonly opts: UnownedLvReporterOptions) {}

  async report(unowned: readonly UnownedVolume[]): Promise<void> {
    const { nodeName, log } = this.opts;
    const current = JSON.stringify(unowned);
    if (current !== this.written) {
      try {
        await patchStatus<LocalStorageNode>(this.opts.clients, loamResources.localStorageNodes, { name: nodeName }, { unownedVolumes: unowned.length > 0 ? unowned : null }, { fieldManager: this.opts.fieldManager });
        this.written = current;
      } catch (err) {
        // Not there yet (the pool report creates it): the next pass writes.
        if (!isNotFound(err)) log.warn('could not report unowned LVs; the next pass tries again', { error: (err as Error).message });
        return;
      }
    }
    const keys = new Set(unowned.map(keyOf));
    for (const k of [...this.announced]) if (!keys.has(k)) this.announced.delete(k);
    for (const u of unowned) {
      if (this.announced.has(keyOf(u))) continue;
      this.announced.add(keyOf(u));
      const whose = u.replicaUid ? `was made for LocalVolumeReplica uid ${u.replicaUid}, which no longer exists on this node` : 'was made by Loam before LVs carried their replica\'s UID and no replica reported it';
      const note = `LV ${u.vgName}/${u.lvName} (${u.sizeBytes ?? 0} bytes) ${whose}. Loam keeps it and its data: look at it, then remove it with lvremove if it is not needed`;
      log.warn('unowned Loam LV', { lv: `${u.vgName}/${u.lvName}`, replicaUid: u.replicaUid });
      const regarding = { apiVersion, kind: 'LocalStorageNode', metadata: { name: nodeName } };
      void this.opts.recorder.record(regarding, { type: 'Warning', reason: 'UnownedLv', action: 'Report', note });
    }
  }
}
