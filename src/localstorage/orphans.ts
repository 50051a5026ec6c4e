/**
 * Node deletion policy, pure: when is a node gone for good, and what of its objects may go.
 *
 * A node is gone when its Node object has been missing for at least the grace period (measured on
 * the controller's clock from when it first saw it missing; a controller that restarts starts
 * counting again) AND no heartbeat of its agent (LocalStorageNode, LocalDiskNode) is younger than
 * the grace period. Both, so that an agent starting before its kubelet registers the Node is not
 * punished, and a Node deleted while its agent still reports is not either. Nothing is deleted
 * while the Node exists.
 */
import { finalizer, type LocalVolume, type LocalVolumeReplica } from '../api/index.js';

export interface NodeEvidence {
  nodeExists: boolean;
  /** When this controller first saw the Node missing (ms). */
  missingSinceMs?: number;
  /** The newest heartbeat of the node's agents (ms), if any. */
  lastHeartbeatMs?: number;
}

export function isNodeGone(e: NodeEvidence, nowMs: number, graceMs: number): boolean {
  if (e.nodeExists || e.missingSinceMs === undefined) return false;
  if (nowMs - e.missingSinceMs < graceMs) return false;
  return e.lastHeartbeatMs === undefined || nowMs - e.lastHeartbeatMs >= graceMs;
}

/** The newest of several RFC 3339 heartbeats, in ms; undefined when none parses. */
export function newestHeartbeat(...times: Array<string | undefined>): number | undefined {
  const ms = times.map((t) => (t ? Date.parse(t) : NaN)).filter((t) => !Number.isNaN(t));
  return ms.length > 0 ? Math.max(...ms) : undefined;
}

/** Remembers since when each node has been missing; a node seen again is forgotten. */
export class NodeAbsence {
  private readonly since = new Map<string, number>();

  /** Records what the Node cache says now about each node of interest. */
  observe(nodeName: string, exists: boolean, nowMs: number): number | undefined {
    if (exists) {
      this.since.delete(nodeName);
      return undefined;
    }
    if (!this.since.has(nodeName)) this.since.set(nodeName, nowMs);
    return this.since.get(nodeName);
  }

  /** Forgets nodes no longer of interest (no object names them any more). */
  retain(nodeNames: ReadonlySet<string>): void {
    for (const name of this.since.keys()) if (!nodeNames.has(name)) this.since.delete(name);
  }
}

/**
 * Replicas on a gone node that no agent will ever finish: the replica is being deleted, or its
 * volume is gone or being deleted. They are deleted (if not yet) and lose their finalizer; the LV
 * left the cluster with the node. Replicas of live volumes stay: the volume shows Failed/Degraded.
 */
export function abandonedReplicas(replicas: readonly LocalVolumeReplica[], volume: (name: string) => LocalVolume | undefined): LocalVolumeReplica[] {
  return replicas.filter((r) => {
    if (r.metadata.deletionTimestamp) return r.metadata.finalizers?.includes(finalizer) ?? false;
    const v = volume(r.spec.volumeName);
    return !v || v.metadata.deletionTimestamp !== undefined;
  });
}
