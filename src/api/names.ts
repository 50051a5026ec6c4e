/** Object names derived from what they describe, so a rediscovered disk or a retried create lands on the same object. */
import { createHash } from 'node:crypto';
import { labels } from './constants.js';

/** The first 12 hex digits of sha256(text). */
const hex12 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 12);

/**
 * `<node>-<first 12 hex of sha256(stableId)>`: the name of a disk's LocalDisk. The stable id (WWN,
 * else vendor+model+serial, else the by-path link) survives reboots and renamed device nodes, so the
 * disk comes back under the same name. Where that would pass 253 characters, `<node>` is replaced
 * by the node's label value (nodeLabelValue), which is short and still names the node.
 */
export function localDiskName(nodeName: string, stableId: string): string {
  if (!nodeName) throw new Error('localDiskName: a node name is required');
  if (!stableId) throw new Error(`localDiskName: a stable id is required for a disk of node ${nodeName}`);
  const name = `${nodeName}-${hex12(stableId)}`;
  // A node name near 253 characters leaves no room: its label value (short, hashed) stands in.
  return name.length <= maxObjectName ? name : `${nodeLabelValue(nodeName).toLowerCase().replace(/[_.]/g, '-')}-${hex12(stableId)}`;
}

/** Longest label value Kubernetes accepts. */
const maxLabelValue = 63;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * The value of the `loam.io/node` label for a node: the node name itself when it is a valid label
 * value, else (an FQDN node name longer than 63 characters) its first characters, cut back to end in
 * a letter or digit, then `-` and 16 hex of sha256(node name). Every writer of the label and every
 * selector on it goes through here, so they always agree; objects carry the real name in
 * spec.nodeName, which is what code reads. Stable, and distinct for names that share a prefix.
 */
export function nodeLabelValue(nodeName: string): string {
  if (!nodeName) throw new Error('nodeLabelValue: a node name is required');
  if (nodeName.length <= maxLabelValue && labelValue.test(nodeName)) return nodeName;
  const hash = createHash('sha256').update(nodeName).digest('hex').slice(0, 16);
  const prefix = nodeName.slice(0, maxLabelValue - hash.length - 1).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '').replace(/[^-A-Za-z0-9_.]/g, '-');
  return prefix ? `${prefix}-${hash}` : hash;
}

/**
 * The node a label value (or a CSI topology value, which kubelet writes as a Node label) stands for:
 * a known node of that name, else the known node whose shortened name it is, else the value itself.
 */
export function nodeOfLabelValue(value: string, isKnown: (node: string) => boolean, knownNodes: () => Iterable<string>): string {
  if (isKnown(value)) return value;
  for (const node of knownNodes()) if (nodeLabelValue(node) === value) return node;
  return value;
}

/** `loam.io/node=<nodeLabelValue(node)>`: the selector of a node's objects, the same string for every informer of it. */
export function nodeLabelSelector(nodeName: string): string {
  return `${labels.node}=${nodeLabelValue(nodeName)}`;
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
