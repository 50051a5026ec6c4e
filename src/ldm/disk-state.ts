/**
 * A LocalDisk's status.state from what the node agent observed and what others wrote into spec
 * (docs/ldm.md, "States"). Pure, so every rule is unit-tested.
 */
import { localStorageOwner, type LocalDiskState } from '../api/index.js';
import { reservedVerdict, type SafetyVerdict } from './safety.js';

export interface StateInput {
  present: boolean;
  /** Safety of what the disk holds; ignored when not present. */
  verdict: SafetyVerdict;
  /** The signature the probe found (InUse is recognised by an LVM PV of a local-storage disk). */
  signature?: string;
  reserved: boolean;
  claimed: boolean;
  owner?: string;
  /** status.state as stored now. */
  currentState?: LocalDiskState;
}

export interface StateResult {
  state: LocalDiskState;
  /** For status.reason; absent for Available, Claimed and InUse. */
  reason?: string;
  /** CamelCase code for the condition. */
  code: string;
}

export const offlineReason = 'is not present on its node';

export function diskState(input: StateInput): StateResult {
  if (!input.present) return { state: 'Offline', reason: offlineReason, code: 'NotPresent' };
  // Local Storage marks a disk InUse once it is a PV of a Loam pool: by then it holds an LVM
  // signature, which must not turn it Unavailable. A disk coming back from Offline is recognised
  // as InUse by its claim to local-storage and its PV.
  const lvmOfLocalStorage = input.claimed && input.owner === localStorageOwner && input.signature === 'LVM2_member';
  if (input.currentState === 'InUse' || lvmOfLocalStorage) return { state: 'InUse', code: 'InUse' };
  if (input.reserved) return { state: 'Unavailable', reason: reservedVerdict.reason, code: reservedVerdict.code! };
  if (!input.verdict.safe) return { state: 'Unavailable', reason: input.verdict.reason, code: input.verdict.code ?? 'Unsafe' };
  if (input.claimed) return { state: 'Claimed', code: 'Claimed' };
  return { state: 'Available', code: 'Empty' };
}
