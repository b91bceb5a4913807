/**
 * Message coalescing for long-lived gRPC streams. grpc-js spends far more per message (framing,
 * stream bookkeeping, a write per message) than per byte, so a stream that carries many small
 * independent items sends the items produced in one event-loop turn as one message.
 */

/** Defers a function to the end of the current event-loop turn. */
export type TurnScheduler = (fn: () => void) => void;

/** How a {@link TurnBatcher} groups items. */
export interface TurnBatcherOptions<T> {
  /** Receives each group, oldest first. Never called with an empty array. */
  readonly flush: (items: T[]) => void;
  /** Flush at once when this many items are queued. @default 256 */
  readonly maxItems?: number;
  /**
   * Flush at once when the queued items' sizes (as given to `push`) reach this, so one message
   * stays far below the receiver's message size limit. @default 1048576 (1 MiB)
   */
  readonly maxBytes?: number;
  /**
   * Defers the flush of a turn's items. @default `setImmediate`, looked up at call time so
   * fake timers in tests replace it; it runs after the I/O callbacks of the turn, so every item
   * those callbacks produce joins the same group.
   */
  readonly schedule?: TurnScheduler;
}

/** The byte bound of one batch message when none is given (TurnBatcher, MultiplexedStreamClient). */
export const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;

/**
 * What a message may carry beyond its items' estimated sizes: protobuf tags and lengths, ids,
 * trace maps — the estimates are rough, and this bounds how rough.
 */
const FRAMING_SLACK_BYTES = 64 * 1024;

/**
 * The largest batch message a receiver must accept from senders batching with `maxBatchBytes`
 * when no single item exceeds `maxItemBytes`: a batch is flushed once it reaches the bound, so it
 * can pass it by one item. Receivers set their receive limit from this, not from a blanket figure.
 */
export function batchReceiveLimit(maxItemBytes: number, maxBatchBytes = DEFAULT_MAX_BATCH_BYTES): number {
  return maxBatchBytes + maxItemBytes + FRAMING_SLACK_BYTES;
}

const defaultSchedule: TurnScheduler = (fn) => {
  setImmediate(fn);
};

/**
 * Collects items and hands them to `flush` in groups: everything pushed before the scheduled
 * flush runs goes out together, and a group that reaches `maxItems` or `maxBytes` goes out at
 * once. Order is kept. One scheduled callback per group, no timers, no promises.
 */
export class TurnBatcher<T> {
  private queue: T[] = [];
  private bytes = 0;
  private scheduled = false;
  private readonly flushFn: (items: T[]) => void;
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private readonly schedule: TurnScheduler;
  private readonly scheduledFlush = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(options: TurnBatcherOptions<T>) {
    this.flushFn = options.flush;
    this.maxItems = options.maxItems ?? 256;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.schedule = options.schedule ?? defaultSchedule;
  }

  /** Items queued and not yet flushed. */
  get size(): number {
    return this.queue.length;
  }

  /** Queues an item of about `bytes` bytes; flushes at once when a cap is reached. */
  push(item: T, bytes = 0): void {
    this.queue.push(item);
    this.bytes += bytes;
    if (this.queue.length >= this.maxItems || this.bytes >= this.maxBytes) {
      this.flush();
      return;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(this.scheduledFlush);
    }
  }

  /** Hands everything queued to `flush` now (before ending a stream, for instance). */
  flush(): void {
    if (this.queue.length === 0) return;
    const items = this.queue;
    this.queue = [];
    this.bytes = 0;
    this.flushFn(items);
  }

  /** Drops and returns everything queued (the stream they were for is gone). */
  clear(): T[] {
    const items = this.queue;
    this.queue = [];
    this.bytes = 0;
    return items;
  }
}
