/**
 * What hinted handoff hands over to anti-entropy: keys whose hint could not be delivered (its
 * attempts ran out, or it expired in the queue) and the ranges of a node that stayed down longer
 * than the hint window (no hints are written for it any more, so its replicas drift apart until an
 * exchange repairs them).
 *
 * The anti-entropy service's flagging API (`AntiEntropyService/FlagKeys` and `FlagRanges`) is being
 * built on its own branch; until it is merged every flag is counted and logged here, and
 * {@link antiEntropyFlags} is the one place that will return a client of that API instead.
 */

/** An arc (start, end] of the ring (positions are the first 32 bits of a key's SHA-1). */
export interface FlaggedRange {
  readonly start: number;
  readonly end: number;
}

/** Why something was flagged, for logs and metrics. */
export type FlagReason = 'hint-undeliverable' | 'hint-expired' | 'hint-window-exceeded' | 'hint-not-owned';

/** Where keys and ranges whose replicas may differ are reported. */
export interface AntiEntropyFlags {
  /** Keys to repair before any scheduled exchange (each read from every replica and merged). */
  flagKeys(keys: readonly Uint8Array[], reason: FlagReason, detail?: Record<string, unknown>): void;
  /** Ranges to exchange before any scheduled one. */
  flagRanges(ranges: readonly FlaggedRange[], reason: FlagReason, detail?: Record<string, unknown>): void;
}

/** The logger calls a flag log needs (a pino logger fits). */
export interface FlagLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** What was flagged so far, by reason. */
export interface FlagCounts {
  readonly keys: Partial<Record<FlagReason, number>>;
  readonly ranges: Partial<Record<FlagReason, number>>;
}

/** Flags counted and logged (one warning per call, with up to 8 keys in hex). */
export class AntiEntropyFlagLog implements AntiEntropyFlags {
  private readonly keyCounts: Partial<Record<FlagReason, number>> = {};
  private readonly rangeCounts: Partial<Record<FlagReason, number>> = {};

  constructor(private readonly logger: FlagLogger) {}

  get counts(): FlagCounts {
    return { keys: { ...this.keyCounts }, ranges: { ...this.rangeCounts } };
  }

  flagKeys(keys: readonly Uint8Array[], reason: FlagReason, detail: Record<string, unknown> = {}): void {
    if (keys.length === 0) return;
    this.keyCounts[reason] = (this.keyCounts[reason] ?? 0) + keys.length;
    const sample = keys.slice(0, 8).map((k) => Buffer.from(k.buffer, k.byteOffset, k.byteLength).subarray(0, 64).toString('hex'));
    this.logger.warn({ ...detail, reason, keys: keys.length, sample }, 'keys flagged for anti-entropy');
  }

  flagRanges(ranges: readonly FlaggedRange[], reason: FlagReason, detail: Record<string, unknown> = {}): void {
    if (ranges.length === 0) return;
    this.rangeCounts[reason] = (this.rangeCounts[reason] ?? 0) + ranges.length;
    this.logger.warn({ ...detail, reason, ranges: ranges.length }, 'ranges flagged for anti-entropy');
  }
}

/**
 * The flagging every service of hinted handoff uses. Today: counted and logged
 * ({@link AntiEntropyFlagLog}). Once the anti-entropy service's FlagKeys/FlagRanges API is in
 * main, this returns its client (with the log kept as the fallback when it is unreachable).
 */
export function antiEntropyFlags(logger: FlagLogger): AntiEntropyFlagLog {
  return new AntiEntropyFlagLog(logger);
}
