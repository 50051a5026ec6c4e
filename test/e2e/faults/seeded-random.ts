/**
 * A seeded pseudo-random source for the fault suites, so a run that found something can be
 * replayed with the same choices (which operations, which program is killed, after how long).
 * mulberry32: 32 bits of state, good enough to spread choices, and the same sequence on every
 * machine. A replay repeats the schedule, not the interleaving: the VM's timing still varies.
 */
import { randomInt } from 'node:crypto';

export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`a seed is an integer from 0 to ${0xffffffff}, got ${seed}`);
    this.state = seed;
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
  }

  /** An integer from `min` to `max`, both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One of `weights`' keys, each chosen in proportion to its weight. */
  weighted<K extends string>(weights: Record<K, number>): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let roll = this.next() * total;
    for (const [key, w] of entries) {
      roll -= w;
      if (roll < 0) return key;
    }
    return entries[entries.length - 1]![0];
  }
}

/** The seed given (decimal text, e.g. from `LOAM_FAULT_SEED` or `--seed`), or a fresh one. */
export function seedOf(given: string | undefined): number {
  if (given === undefined || given === '') return randomInt(0, 0xffffffff);
  const seed = Number(given);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`the fault seed must be an integer from 0 to ${0xffffffff}, got "${given}"`);
  return seed;
}
