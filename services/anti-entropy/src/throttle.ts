/**
 * The worker's throttles, changeable while it runs (`qkv repair`'s admin API): range exchanges
 * per second, keys repaired per second, and exchanges one node takes part in at a time.
 */
import { Pacer } from '@quorumkv/merkle';

/** The three throttles. */
export interface ThrottleSettings {
  readonly exchangesPerSecond: number;
  readonly keysPerSecond: number;
  readonly maxExchangesPerNode: number;
}

/** Options of {@link Throttle}. */
export interface ThrottleOptions extends ThrottleSettings {
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** See the file comment. A change applies to the next unit taken. */
export class Throttle {
  private settings: ThrottleSettings;
  private exchangePacer: Pacer;
  private keyPacer: Pacer;

  constructor(private readonly options: ThrottleOptions) {
    this.settings = { exchangesPerSecond: options.exchangesPerSecond, keysPerSecond: options.keysPerSecond, maxExchangesPerNode: options.maxExchangesPerNode };
    this.exchangePacer = this.pacer(options.exchangesPerSecond);
    this.keyPacer = this.pacer(options.keysPerSecond);
  }

  /** The settings in force. */
  get current(): ThrottleSettings {
    return this.settings;
  }

  /**
   * Changes some settings (0 or absent leaves one as it is).
   * @throws RangeError for a value that is not a positive integer.
   */
  set(change: Partial<ThrottleSettings>): ThrottleSettings {
    const next = { ...this.settings };
    for (const name of ['exchangesPerSecond', 'keysPerSecond', 'maxExchangesPerNode'] as const) {
      const v = change[name];
      if (v === undefined || v === 0) continue;
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
      next[name] = v;
    }
    if (next.exchangesPerSecond !== this.settings.exchangesPerSecond) this.exchangePacer = this.pacer(next.exchangesPerSecond);
    if (next.keysPerSecond !== this.settings.keysPerSecond) this.keyPacer = this.pacer(next.keysPerSecond);
    this.settings = next;
    return next;
  }

  /** Waits for the right to start one range exchange. */
  exchange(signal?: AbortSignal): Promise<void> {
    return this.exchangePacer.take(1, signal);
  }

  /** Waits for the right to repair (or scan) `n` keys. */
  keys(n: number, signal?: AbortSignal): Promise<void> {
    return this.keyPacer.take(n, signal);
  }

  private pacer(ratePerSecond: number): Pacer {
    return new Pacer({ ratePerSecond, now: this.options.now, sleep: this.options.sleep });
  }
}
