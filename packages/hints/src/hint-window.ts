/**
 * The end of the hint window, where delivery and expiry must not overlap.
 *
 * JetStream drops a hint when it is `max_age` (the window) old, and says nothing about it. To
 * count expired hints exactly, the last stretch of each hint's life is a band no drainer takes a
 * hint out of (`expiryGuardMs`: a drainer that meets such a hint leaves it to expire), and the
 * expiry watch notes every hint it sees in the inner half of that band: such a hint can only
 * leave the queue by expiring (or by an operator's purge, which the watch is told of). The watch
 * looks every quarter of the band, so each hint is seen there at least once.
 */

/** How close to its expiry a hint is left alone by drainers: min(20 s, window / 4). */
export function expiryGuardMs(windowMs: number): number {
  return Math.min(20_000, windowMs / 4);
}

/** How close to its expiry a hint is noted by the expiry watch: half the guard. */
export function expiryWatchBandMs(windowMs: number): number {
  return expiryGuardMs(windowMs) / 2;
}

/** How often the expiry watch looks: a quarter of the guard, at least every 100 ms. */
export function expiryWatchPeriodMs(windowMs: number): number {
  return Math.max(100, expiryGuardMs(windowMs) / 4);
}

/**
 * The JetStream message id of a hint: one per (write, intended node). A retried write (same
 * request id, so the storage node answers with the dot it minted before) or a write routed again
 * on a newer ring publishes the same id, and JetStream stores nothing new within its duplicate
 * window.
 */
export function hintMessageId(writeId: string, intendedNode: string): string {
  return `${writeId}@${intendedNode}`;
}
