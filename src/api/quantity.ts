/**
 * Capacities in the API: integer bytes are the source of truth (`capacityBytes`, `freeBytes`, ...);
 * the controller that writes them also writes a binary-unit string into status (`status.capacity:
 * "1.8Ti"`) because printer columns cannot format numbers. The formatter lives in src/common, shared
 * with the CLI; this is the API's name for it.
 */
import { formatBytes } from '../common/quantity.js';

/** `1992864825344` → `"1.8Ti"`, `10737418240` → `"10Gi"`: the string controllers write beside byte counts. */
export function formatCapacity(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`formatCapacity: ${bytes} is not a byte count (a non-negative integer)`);
  return formatBytes(bytes);
}
