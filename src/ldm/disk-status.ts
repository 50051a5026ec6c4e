/**
 * The status a LocalDisk should have, from the inventory record and the object as stored, and
 * whether it differs from what is stored (lastSeen and transition times aside, so an unchanged
 * disk costs no write).
 */
import { formatCapacity, type Condition, type LocalDisk, type LocalDiskStatus } from '../api/index.js';
import type { DiskRecord } from './disk-inventory.js';
import { diskState, type StateResult } from './disk-state.js';

export interface DesiredStatus {
  status: LocalDiskStatus;
  result: StateResult;
  /** True when a write is needed. */
  changed: boolean;
}

/** Present/Safe conditions (others kept as written); a condition keeps its lastTransitionTime while its status stays. */
function conditions(rec: DiskRecord | undefined, old: Condition[] | undefined, now: string): Condition[] {
  const keep = (c: Omit<Condition, 'lastTransitionTime'>): Condition => {
    const prev = old?.find((o) => o.type === c.type);
    return { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now };
  };
  const present = rec?.present === true;
  const out: Condition[] = [keep(present
    ? { type: 'Present', status: 'True', reason: 'Present', message: `seen as ${rec.spec.devicePath}` }
    : { type: 'Present', status: 'False', reason: 'NotPresent', message: 'the disk is not attached to its node' })];
  if (present) {
    const safe = rec.verdict.safe;
    out.push(keep(safe
      ? { type: 'Safe', status: 'True', reason: 'Empty', message: 'no partition table, signature, holder, mount or swap found' }
      : { type: 'Safe', status: 'False', reason: rec.verdict.code ?? 'Unsafe', message: `the disk ${rec.verdict.reason ?? 'is not safe to use'}` }));
  } else {
    const prev = old?.find((o) => o.type === 'Safe');
    if (prev) out.push(prev);
  }
  // Conditions other parts write (Local Storage's Pooled) are theirs: carried over untouched.
  return [...out, ...(old ?? []).filter((o) => o.type !== 'Present' && o.type !== 'Safe')];
}

function comparable(s: LocalDiskStatus | undefined): string {
  if (!s) return '';
  const { lastSeen: _seen, conditions: conds, smart, ...rest } = s;
  const c = (conds ?? []).map(({ lastTransitionTime: _t, ...x }) => x);
  const { checkedAt: _at, ...figures } = smart ?? {};
  return stableJson({ ...rest, smart: smart ? figures : undefined, conditions: c });
}

export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => a.localeCompare(b)))
      : val);
}

/**
 * `lastSeenRefreshMs`: rewrite lastSeen of an unchanged present disk only when the stored one is
 * older than this, so a resync of many idle disks is not a burst of writes.
 */
export function desiredStatus(rec: DiskRecord | undefined, obj: LocalDisk, now: Date, lastSeenRefreshMs: number): DesiredStatus {
  const old = obj.status;
  const present = rec?.present === true;
  const result = diskState({
    present,
    verdict: rec?.verdict ?? { safe: false },
    signature: rec?.facts.signature,
    reserved: obj.spec.reserved === true,
    claimed: obj.spec.claimRef !== undefined,
    owner: obj.spec.owner,
    currentState: old?.state,
  });
  const nowIso = now.toISOString();
  const status: LocalDiskStatus = {
    state: result.state,
    capacity: formatCapacity(obj.spec.capacityBytes),
    health: rec?.health ?? old?.health ?? 'Unknown',
    conditions: conditions(rec, old?.conditions, nowIso),
  };
  if (result.reason) status.reason = result.reason;
  const smart = rec?.smart ?? old?.smart;
  if (smart) status.smart = smart;
  const seenStale = !old?.lastSeen || now.getTime() - Date.parse(old.lastSeen) > lastSeenRefreshMs;
  status.lastSeen = present ? (seenStale ? nowIso : old!.lastSeen) : old?.lastSeen;
  if (!status.lastSeen) delete status.lastSeen;
  const changed = comparable(status) !== comparable(old) || (present && seenStale);
  return { status, result, changed };
}
