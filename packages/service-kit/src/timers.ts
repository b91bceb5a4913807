/**
 * Time as a dependency: stream clients, quorum waits and reconnect backoff read the clock and set
 * timers only through this interface, so tests drive them with a fake clock instead of sleeping.
 */
export interface Timers {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Opaque timer handle (a Node `Timeout`, or whatever a fake clock returns). */
export type TimerHandle = object | number;

/**
 * The process clock. Looks `setTimeout` up at call time (not at import), so vitest's fake timers
 * replace it in tests that opt in. Its timers do not keep the process alive.
 */
export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
