/**
 * ListVolumes paging over the cache, sorted by volume id. The token is opaque to the CO: the
 * base64url of the last id returned. The next page starts after that id, so a volume deleted
 * between two pages does not shift the rest (nothing is skipped, nothing repeated). A token that
 * does not decode is ABORTED, as the spec asks.
 */
import type { LocalVolume } from '../api/index.js';
import { aborted, invalidArgument } from './errors.js';

const tokenPrefix = 'after:';

export function encodeListToken(lastId: string): string {
  return Buffer.from(tokenPrefix + lastId, 'utf8').toString('base64url');
}

export function decodeListToken(token: string): string {
  const text = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (!text.startsWith(tokenPrefix)) throw aborted(`ListVolumes: starting_token "${token}" is not one this plugin gave out`);
  return text.slice(tokenPrefix.length);
}

export interface VolumePage {
  volumes: LocalVolume[];
  /** '' on the last page. */
  nextToken: string;
}

/** One page of `sorted` (sorted by name); `maxEntries` 0 means all. */
export function pageOf(sorted: readonly LocalVolume[], maxEntries: number, startingToken: string): VolumePage {
  if (!Number.isInteger(maxEntries) || maxEntries < 0) throw invalidArgument(`ListVolumes: max_entries must not be negative (got ${maxEntries})`);
  const after = startingToken ? decodeListToken(startingToken) : undefined;
  const rest = after === undefined ? sorted : sorted.filter((v) => v.metadata.name! > after);
  const volumes = maxEntries > 0 ? rest.slice(0, maxEntries) : [...rest];
  const nextToken = volumes.length < rest.length ? encodeListToken(volumes[volumes.length - 1]!.metadata.name!) : '';
  return { volumes, nextToken };
}
