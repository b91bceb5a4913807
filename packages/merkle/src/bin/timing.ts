/** CPU time per operation on a shared, noisy machine. */

/**
 * Nanoseconds per call of `op(j)` for j = 0…n-1: the best of five timed runs after a warm-up.
 * Why the best: on a machine other processes share, a run is only ever slowed down (preempted,
 * its caches flushed); the fastest run is the one least disturbed.
 */
export function nsPerOp(n: number, op: (j: number) => void): number {
  for (let j = 0; j < Math.min(n, 100_000); j++) op(j);
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 5; run++) {
    const t0 = process.hrtime.bigint();
    for (let j = 0; j < n; j++) op(j);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
  }
  return best;
}
