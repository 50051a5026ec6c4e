/**
 * Whether a node may be given new volumes, judged from its LocalStorageNode alone. Pure: the three
 * places that decide or advertise room for new volumes (placement, the scheduler extender, CSI
 * GetCapacity) all ask this one function, through the room arithmetic of placement-room.ts.
 *
 * `state: Ready` is what the node agent last said; it stays Ready in the object after the agent
 * dies. So a node also needs a recent heartbeat (`status.lastHeartbeatTime`, written by the agent
 * every `--heartbeat-seconds`, default 30 s): one older than `staleAfterMs` (default three missed
 * heartbeats, 90 s) means nobody is there to make the LV, and a volume sent there would wait
 * forever. Existing volumes are not touched by this: it only keeps new ones away until the agent
 * reports again. A heartbeat from the future (clock skew between node and controller) counts as
 * fresh; clocks are assumed to agree to well within the threshold (NTP).
 */

/** The node agents' default heartbeat (loam-node `--heartbeat-seconds`). */
export const defaultHeartbeatMs = 30_000;
/** Three missed heartbeats: one slow write or a short API hiccup does not turn a node away. */
export const defaultStaleAfterMs = 3 * defaultHeartbeatMs;

/** The fields of a LocalStorageNode this reads. */
export interface LivenessFacts {
  status?: { state?: string; lastHeartbeatTime?: string };
}

export type Acceptance = { ok: true } | { ok: false; reason: string };

export function acceptsNewVolumes(lsn: LivenessFacts | undefined, now: number, staleAfterMs: number): Acceptance {
  if (!lsn) return { ok: false, reason: 'Loam storage does not run on this node (no LocalStorageNode)' };
  const state = lsn.status?.state;
  if (state !== 'Ready') return { ok: false, reason: `Loam storage on this node is ${state ?? 'not reporting'}` };
  const beat = Date.parse(lsn.status?.lastHeartbeatTime ?? '');
  if (Number.isNaN(beat)) return { ok: false, reason: 'Loam\'s node agent has never reported a heartbeat on this node; no new volumes go to it until it does' };
  const age = now - beat;
  if (age > staleAfterMs) {
    return { ok: false, reason: `Loam's node agent last reported ${formatDuration(age)} ago (a node is stale after ${formatDuration(staleAfterMs)} without a heartbeat); no new volumes go to this node until it reports again` };
  }
  return { ok: true };
}

/** `90_000` → `1m30s`, `7_260_000` → `2h1m0s`: whole seconds, as Go prints durations. */
export function formatDuration(ms: number): string {
  let s = Math.floor(Math.max(0, ms) / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
