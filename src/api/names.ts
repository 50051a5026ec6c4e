/** Object names derived from what they describe, so a rediscovered disk or a retried create lands on the same object. */
import { createHash } from 'node:crypto';

/**
 * `<node>-<first 12 hex of sha256(stableId)>`: the name of a disk's LocalDisk. The stable id (WWN,
 * else vendor+model+serial, else the by-path link) survives reboots and renamed device nodes, so the
 * disk comes back under the same name.
 */
export function localDiskName(nodeName: string, stableId: string): string {
  if (!nodeName) throw new Error('localDiskName: a node name is required');
  if (!stableId) throw new Error(`localDiskName: a stable id is required for a disk of node ${nodeName}`);
  const hash = createHash('sha256').update(stableId).digest('hex').slice(0, 12);
  return `${nodeName}-${hash}`;
}

/** `<volume>-<node>`: the LocalVolumeReplica of a volume on one node. */
export function localVolumeReplicaName(volumeName: string, nodeName: string): string {
  if (!volumeName || !nodeName) throw new Error(`localVolumeReplicaName: volume and node are required (got "${volumeName}", "${nodeName}")`);
  return `${volumeName}-${nodeName}`;
}
