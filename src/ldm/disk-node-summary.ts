/** A LocalDiskNode's figures from the node's LocalDisks (pure). */
import { formatCapacity, mediaClasses, type ClassCapacity, type DiskCounts, type LocalDisk } from '../api/index.js';

export interface DiskNodeSummary {
  disks: Required<DiskCounts>;
  capacity: ClassCapacity[];
}

/** Counts by state (Offline included in total) and capacity by class of the disks present. */
export function summariseDisks(disks: LocalDisk[]): DiskNodeSummary {
  const counts: Required<DiskCounts> = { total: 0, available: 0, claimed: 0, inUse: 0, unavailable: 0, offline: 0 };
  const byClass = new Map<string, { disks: number; totalBytes: number; availableBytes: number }>();
  for (const d of disks) {
    counts.total++;
    const state = d.status?.state;
    if (state === 'Available') counts.available++;
    else if (state === 'Claimed') counts.claimed++;
    else if (state === 'InUse') counts.inUse++;
    else if (state === 'Unavailable') counts.unavailable++;
    else if (state === 'Offline') counts.offline++;
    if (state === 'Offline' || state === undefined) continue;
    const c = byClass.get(d.spec.mediaClass) ?? { disks: 0, totalBytes: 0, availableBytes: 0 };
    c.disks++;
    c.totalBytes += d.spec.capacityBytes;
    if (state === 'Available') c.availableBytes += d.spec.capacityBytes;
    byClass.set(d.spec.mediaClass, c);
  }
  const capacity: ClassCapacity[] = mediaClasses
    .filter((m) => byClass.has(m))
    .map((m) => {
      const c = byClass.get(m)!;
      return { mediaClass: m, ...c, total: formatCapacity(c.totalBytes), available: formatCapacity(c.availableBytes) };
    });
  return { disks: counts, capacity };
}
