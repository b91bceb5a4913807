/** Exponential backoff bounds. */
export interface BackoffOptions {
  /** Delay before the first retry. */
  readonly initialMs: number;
  /** Upper bound of any delay. */
  readonly maxMs: number;
}

/**
 * Delay before retry number `attempt` (0-based): doubles from `initialMs` up to `maxMs`, with
 * "equal jitter" (half fixed, half random) so peers that lost the same server do not all
 * reconnect in the same millisecond, yet never retry in a tight loop. The one backoff formula of
 * every quorumkv stream client.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + random() * (base / 2));
}
