/** CPU time per operation on a shared, noisy machine. */

/** An operation to time: `op(j)` is called for j = 0…n-1. */
export interface TimedOp {
  readonly n: number;
  readonly op: (j: number) => void;
}

/**
 * Nanoseconds per call of each operation: the best of `rounds` timed runs after a warm-up.
 *
 * Runs are interleaved (a run of each operation per round, in reversed order every other round)
 * and each starts after a full collection (`gc`, from --expose-gc), so that a ratio between two
 * operations compares runs made under the same conditions: without that, the second operation
 * of a round pays for the garbage the first left. Why the best: on a machine other processes
 * share, a run is only ever slowed down (preempted, its caches flushed); the fastest is the one
 * least disturbed.
 */
export function nsPerOp<K extends string>(ops: Record<K, TimedOp>, rounds = 7): Record<K, number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run node with --expose-gc: the timings need it');
  const names = Object.keys(ops) as K[];
  const best = {} as Record<K, number>;
  for (const name of names) {
    const { n, op } = ops[name];
    for (let j = 0; j < Math.min(n, 100_000); j++) op(j);
    best[name] = Number.POSITIVE_INFINITY;
  }
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const { n, op } = ops[name];
      gc();
      const t0 = process.hrtime.bigint();
      for (let j = 0; j < n; j++) op(j);
      best[name] = Math.min(best[name], Number(process.hrtime.bigint() - t0) / n);
    }
  }
  return best;
}
