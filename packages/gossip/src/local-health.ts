/**
 * The largest event-loop delay, in ms, seen since the previous call. Real wiring reads
 * `perf_hooks.monitorEventLoopDelay()` (see {@link monitorLoopDelay}); a simulation reports the
 * pauses it injects.
 */
export type LoopDelaySource = () => number;

/** Why local health changed, for counters and tests. */
export type HealthSignal =
  | 'probe-ok'
  | 'probe-failed'
  | 'missed-nacks'
  | 'refuted'
  | 'loop-delay'
  | 'stalled-timer';

/**
 * Lifeguard's local health multiplier: a score in [0, max − 1] of how likely it is that trouble
 * seen by this member is its own. It rises when this member fails a probe while the relays it
 * asked did not even nack (the fault is near us), when it has to refute a suspicion of itself,
 * when its event loop stalls; it falls with each probe that succeeds. Timeouts are multiplied by
 * (score + 1), so a slow or partly cut-off member probes more slowly and waits longer before
 * suspecting others, instead of flooding the cluster with false suspicions.
 */
export class LocalHealth {
  private current = 0;

  constructor(
    private readonly max: number,
    private readonly loopDelay: LoopDelaySource | undefined,
    private readonly loopDelayThresholdMs: number,
  ) {}

  /** The score: 0 is healthy. */
  get score(): number {
    return this.current;
  }

  /** Moves the score by `delta`, within [0, max − 1]. */
  apply(delta: number): void {
    this.current = Math.min(this.max - 1, Math.max(0, this.current + delta));
  }

  /** `ms` scaled by the score: `ms × (score + 1)`. */
  scale(ms: number): number {
    return ms * (this.current + 1);
  }

  /**
   * Reads the event-loop delay since the last sample; a delay above the threshold counts like a
   * failed probe (+1). True when it did.
   */
  sampleLoopDelay(): boolean {
    if (!this.loopDelay) return false;
    const delay = this.loopDelay();
    if (delay <= this.loopDelayThresholdMs) return false;
    this.apply(1);
    return true;
  }
}
