/**
 * Seeded randomness for the fault suite: every choice a run makes — which process to kill, when,
 * for how long, which key a client writes, which replica it asks — comes from a stream derived
 * from the run's seed and a label, so `--seed` replays the same faults and the same operations
 * (the interleavings of real processes still differ from run to run).
 */

/** A deterministic source of numbers in [0, 1) with the helpers schedules and workloads need. */
export class Random {
  private state: number;

  /** A stream for `seed` and `label` (each label an independent stream of the same seed). */
  constructor(seed: number, label = '') {
    this.state = mix(seed >>> 0, label);
  }

  /** Uniform in [0, 1) (mulberry32: tiny, fast, good enough to pick faults). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor((max - min + 1) * this.next());
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** `k` distinct elements, in random order. */
  sample<T>(items: readonly T[], k: number): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, Math.min(k, copy.length));
  }
}

/** A fresh random seed for a run that was given none (printed, so the run can be replayed). */
export function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

/** FNV-1a of the label folded into the seed, so each label gets its own stream. */
function mix(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
