/** A timer started by a {@link Clock}; cancelling a timer that already fired does nothing. */
export interface Timer {
  cancel(): void;
}

/**
 * Time as the gossip library sees it. Every delay in the library goes through one of these, so a
 * simulation or a test drives time itself instead of sleeping.
 */
export interface Clock {
  /** Milliseconds on a monotonic clock (any origin). */
  now(): number;
  /** Calls `fn` once, `delayMs` from now (or as soon after as the clock gets to it). */
  setTimer(delayMs: number, fn: () => void): Timer;
}

/**
 * The real clock: `performance.now()` and `setTimeout`. Timers are unref'd: gossip alone never
 * keeps a process alive, the server that embeds it does.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(delayMs, fn) {
    const handle = setTimeout(fn, Math.max(0, delayMs));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};
