/**
 * Results of a benchmark measured in interleaved rounds: every target once per round, so a burst
 * of load from elsewhere on the machine hits every target alike. Reports the median round per
 * target and ratios taken within each round.
 */
import type { LoadResult } from './load.js';

/** A ratio of two targets' throughput, per round and its median over the rounds. */
export interface RoundRatio {
  readonly median: number;
  readonly perRound: readonly number[];
}

const middle = <T>(sorted: readonly T[]): T => sorted[Math.floor((sorted.length - 1) / 2)]!;

/** Every round's result by target label, targets in the order first seen. */
export class Rounds<R extends LoadResult = LoadResult> {
  private readonly byLabel = new Map<string, R[]>();

  add(result: R): void {
    const list = this.byLabel.get(result.label);
    if (list) list.push(result);
    else this.byLabel.set(result.label, [result]);
  }

  /** Every round of every target. */
  all(): R[] {
    return [...this.byLabel.values()].flat();
  }

  /** The round with the median throughput (its latencies come with it), or undefined if unmeasured. */
  median(label: string): R | undefined {
    const rs = this.byLabel.get(label);
    return rs && rs.length > 0 ? middle([...rs].sort((a, b) => a.opsPerSecond - b.opsPerSecond)) : undefined;
  }

  /** {@link median} of every target, in order. */
  medians(): R[] {
    return [...this.byLabel.keys()].map((label) => this.median(label)!);
  }

  /**
   * `a` ÷ `b` in throughput within each round (the two ran seconds apart, under the same outside
   * load) and the median of those: steadier than a ratio of two medians.
   */
  ratio(a: string, b: string): RoundRatio | undefined {
    const ra = this.byLabel.get(a);
    const rb = this.byLabel.get(b);
    if (!ra || !rb || ra.length === 0 || ra.length !== rb.length) return undefined;
    const perRound = ra.map((x, i) => x.opsPerSecond / rb[i]!.opsPerSecond);
    return { median: middle([...perRound].sort((p, q) => p - q)), perRound };
  }
}

/** `what = 0.62 (target ≥ 0.60)   (per round: 0.61, 0.62, 0.64)`, or undefined without the ratio. */
export function formatRatio(what: string, ratio: RoundRatio | undefined, target = ''): string | undefined {
  if (!ratio) return undefined;
  return `${what} = ${ratio.median.toFixed(2)}${target}   (per round: ${ratio.perRound.map((r) => r.toFixed(2)).join(', ')})`;
}
