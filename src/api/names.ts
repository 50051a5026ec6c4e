/** Object names derived from what they describe, so a rediscovered disk or a retried create lands on the same object. */
import { createHash } from 'node:crypto';

/** The first 12 hex digits of sha256(text). */
const hex12 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 12);

/**
 * `<node>-<first 12 hex of sha256(stableId)>`: the name of a disk's LocalDisk. The stable id (WWN,
 * else vendor+model+serial, else the by-path link) survives reboots and renamed device nodes, so the
 * disk comes back under the same name.
 */
export function localDiskName(nodeName: string, stableId: string): string {
  if (!nodeName) throw new Error('localDiskName: a node name is required');
  if (!stableId) throw new Error(`localDiskName: a stable id is required for a disk of node ${nodeName}`);
  return `${nodeName}-${hex12(stableId)}`;
}

/** Longest name of a cluster-scoped object (a DNS subdomain). */
const maxObjectName = 253;

/**
 * `<volume>-<first 12 hex of sha256(node)>`: the LocalVolumeReplica of a volume on one node. The
 * node part has a fixed length, so no two (volume, node) pairs share a name (`<volume>-<node>`
 * would: `pvc-a` on `b-c` and `pvc-a-b` on `c`), and a long FQDN node name cannot push the name
 * past 253 characters. A volume name too long for that is cut and its own hash appended.
 * Replicas are found by their labels and spec (volume, node), never by recomputing this name, so
 * replicas named `<volume>-<node>` by earlier versions keep working.
 */
export function localVolumeReplicaName(volumeName: string, nodeName: string): string {
  if (!volumeName || !nodeName) throw new Error(`localVolumeReplicaName: volume and node are required (got "${volumeName}", "${nodeName}")`);
  const node = hex12(nodeName);
  if (volumeName.length + 1 + node.length <= maxObjectName) return `${volumeName}-${node}`;
  return `${volumeName.slice(0, maxObjectName - 2 * (node.length + 1))}-${hex12(volumeName)}-${node}`;
}
