/** A source of uniform numbers in [0, 1). Injected so simulations and tests replay exactly. */
export interface Random {
  next(): number;
}

/** `Math.random`, for production. */
export const mathRandom: Random = { next: () => Math.random() };

/**
 * A seeded generator (mulberry32: 32-bit state, full period 2^32, passes the usual smoke tests
 * and costs a few integer operations). The same seed gives the same sequence on every machine.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return {
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** A uniform integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random.next() * n);
}

/** Shuffles `items` in place (Fisher–Yates) and returns it. */
export function shuffleInPlace<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
  return items;
}

/** An exponentially distributed delay with the given mean (for Poisson arrivals). */
export function exponential(random: Random, mean: number): number {
  return -Math.log(1 - random.next()) * mean;
}
