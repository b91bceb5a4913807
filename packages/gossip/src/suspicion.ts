import type { Clock, Timer } from './clock.js';

/**
 * Time left in a suspicion after `n` of the `k` wanted independent confirmations, `elapsedMs`
 * into it. The full timeout falls from `maxMs` towards `minMs` with log(n + 1) / log(k + 1)
 * (Lifeguard's dynamic suspicion): the first confirmations shorten it most, and no number of
 * them takes it below `minMs`. May be negative (the timeout has already passed).
 */
export function remainingSuspicionMs(n: number, k: number, elapsedMs: number, minMs: number, maxMs: number): number {
  const fraction = k > 0 ? Math.log(n + 1) / Math.log(k + 1) : 1;
  const timeout = Math.max(minMs, Math.floor(maxMs - fraction * (maxMs - minMs)));
  return timeout - elapsedMs;
}

/** Settings of one suspicion. */
export interface SuspicionOptions {
  /** The member whose suspicion started it; its own claims never count as confirmations. */
  readonly from: string;
  /** Confirmations wanted to reach the minimum timeout (0: the minimum from the start). */
  readonly k: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly clock: Clock;
  /** Called once when the timeout passes, with the number of confirmations seen. */
  readonly onTimeout: (confirmations: number) => void;
}

/**
 * The timer between "suspect" and "down" for one member. Every other member that independently
 * suspects it shortens the wait; a refutation cancels it. Why a long start that shrinks: a lone
 * suspicion is often the suspecter's own problem (a lossy link, a stalled process), so it gets
 * time to be refuted, while a member many others also suspect is almost surely down.
 */
export class Suspicion {
  private readonly confirmedBy = new Set<string>();
  private readonly start: number;
  private timer: Timer | undefined;
  private fired = false;

  constructor(private readonly options: SuspicionOptions) {
    this.confirmedBy.add(options.from);
    this.start = options.clock.now();
    this.arm(options.k > 0 ? options.maxMs : options.minMs);
  }

  /** Independent confirmations counted so far. */
  get confirmations(): number {
    return this.confirmedBy.size - 1;
  }

  /**
   * Counts `from`'s suspicion as a confirmation. True when it was new (worth re-gossiping);
   * false for a repeat, the originator, or once `k` confirmations are in.
   */
  confirm(from: string): boolean {
    const { k, minMs, maxMs, clock } = this.options;
    if (this.fired || this.confirmations >= k || this.confirmedBy.has(from)) return false;
    this.confirmedBy.add(from);
    this.timer?.cancel();
    this.arm(remainingSuspicionMs(this.confirmations, k, clock.now() - this.start, minMs, maxMs));
    return true;
  }

  /** Stops the timer (the member refuted, left, or was declared down by another). */
  cancel(): void {
    this.fired = true;
    this.timer?.cancel();
  }

  private arm(delayMs: number): void {
    this.timer = this.options.clock.setTimer(Math.max(0, delayMs), () => {
      if (this.fired) return;
      this.fired = true;
      this.options.onTimeout(this.confirmations);
    });
  }
}
