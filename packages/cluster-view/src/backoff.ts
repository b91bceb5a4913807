/** Exponential backoff bounds. */
export interface BackoffBounds {
  /** Delay before the first retry. */
  readonly initialMs: number;
  /** Upper bound of any delay. */
  readonly maxMs: number;
}

/**
 * Delay before retry number `attempt` (0-based): doubles from `initialMs` up to `maxMs`, half of
 * it fixed and half random ("equal jitter"), so the processes that lost the same membership
 * replica do not all come back in the same millisecond.
 */
export function retryDelay(attempt: number, bounds: BackoffBounds, random: () => number): number {
  const base = Math.min(bounds.maxMs, bounds.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + random() * (base / 2));
}
