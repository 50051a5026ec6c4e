/**
 * Is a disk safe to hand out? A pure decision over the probe's facts: the first thing found that
 * holds data or is in use makes the disk Unavailable, with a short reason a person can act on
 * (status.reason) and a CamelCase code (condition reason). Loam never wipes a disk.
 */
import type { SafetyFacts } from './probe.js';

export interface SafetyVerdict {
  safe: boolean;
  /** For status.reason, e.g. `holds a filesystem (ext4)`. */
  reason?: string;
  /** For condition reasons, e.g. `HasFilesystem`. */
  code?: string;
}

export const reservedVerdict: SafetyVerdict = { safe: false, reason: 'is reserved by an administrator', code: 'Reserved' };

/** How a signature type reads in a reason. */
function signatureVerdict(type: string): SafetyVerdict {
  switch (type) {
    case 'LVM2_member':
    case 'LVM1_member':
      return { safe: false, reason: 'holds an LVM physical volume', code: 'HasLVM' };
    case 'linux_raid_member':
    case 'isw_raid_member':
    case 'ddf_raid_member':
    case 'zfs_member':
      return { safe: false, reason: `holds a RAID member (${type})`, code: 'HasRAID' };
    case 'crypto_LUKS':
    case 'BitLocker':
      return { safe: false, reason: `holds encrypted data (${type})`, code: 'HasEncryption' };
    case 'swap':
      return { safe: false, reason: 'holds a swap signature', code: 'HasFilesystem' };
    default:
      return { safe: false, reason: `holds a filesystem (${type})`, code: 'HasFilesystem' };
  }
}

/**
 * Order: in use now (mount, swap, holders, the kernel's EBUSY), then what is written on it (table,
 * partitions, signature), and only then a probe that failed: a probe that failed in part still
 * names what it found (the root disk "is mounted at /", not "could not be probed").
 */
export function assessSafety(facts: SafetyFacts): SafetyVerdict {
  if (facts.mounts.length > 0) return { safe: false, reason: `is mounted at ${facts.mounts[0]}`, code: 'Mounted' };
  if (facts.activeSwap) return { safe: false, reason: 'is active swap', code: 'ActiveSwap' };
  if (facts.holders.length > 0) return { safe: false, reason: `is held by ${facts.holders.join(', ')}`, code: 'HasHolders' };
  if (facts.busy) return { safe: false, reason: 'is in use (the kernel refused exclusive access: mounted or claimed elsewhere)', code: 'InUse' };
  if (facts.partitionTable) return { safe: false, reason: `has a partition table (${facts.partitionTable})`, code: 'Partitioned' };
  if (facts.partitions.length > 0) return { safe: false, reason: 'has partitions', code: 'Partitioned' };
  if (facts.signature) return signatureVerdict(facts.signature);
  if (facts.probeError) return { safe: false, reason: 'could not be probed (see the node agent log)', code: 'ProbeFailed' };
  return { safe: true };
}
