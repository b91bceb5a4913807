/** CPU time per operation on a shared, noisy machine. */

/** An operation to time: `op(j)` is called for j = 0…n-1. */
export interface TimedOp {
  readonly n: number;
  readonly op: (j: number) => void;
}

/**
 * Nanoseconds per call of each operation: the best of `rounds` timed runs after a warm-up, the
 * operations' runs interleaved (round 1 of each, then round 2 of each…) so that a ratio between
 * two of them compares runs made under the same conditions. Why the best: on a machine other
 * processes share, a run is only ever slowed down (preempted, its caches flushed); the fastest
 * run is the one least disturbed.
 */
export function nsPerOp<K extends string>(ops: Record<K, TimedOp>, rounds = 7): Record<K, number> {
  const names = Object.keys(ops) as K[];
  const best = {} as Record<K, number>;
  for (const name of names) {
    const { n, op } = ops[name];
    for (let j = 0; j < Math.min(n, 100_000); j++) op(j);
    best[name] = Number.POSITIVE_INFINITY;
  }
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const { n, op } = ops[name];
      const t0 = process.hrtime.bigint();
      for (let j = 0; j < n; j++) op(j);
      best[name] = Math.min(best[name], Number(process.hrtime.bigint() - t0) / n);
    }
  }
  return best;
}
