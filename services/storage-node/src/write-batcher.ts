/**
 * Group commit: puts that arrive in the same event-loop turn, or while an earlier batch is being
 * written, go to LevelDB as one atomic batch. One batch is one append to the LevelDB log (and one
 * fsync with `--sync`), so many concurrent writers share the cost of one system call.
 */

import { WriteQueueFullError } from './errors.js';

/** One record to store, or (`value` undefined) to delete. */
export interface RecordPut {
  readonly key: Buffer;
  readonly value: Buffer | undefined;
  /**
   * The record's ring-position index entry: its digest, written beside the record (omitted by
   * writers that keep no index, as in tests of the batcher alone).
   */
  readonly digest?: Buffer;
  /**
   * The digest the put replaces, when the writer knows it (`null`: the key was absent), so the
   * Merkle trees' update needs no extra read; undefined: not known (read from the index if wanted).
   */
  readonly oldDigest?: Buffer | null;
}

/** Writes a batch atomically; resolves once LevelDB has appended it to its log. */
export type BatchWriter = (puts: readonly RecordPut[]) => Promise<void>;

/** Schedules the first flush of a group (`setImmediate` in production; tests may pass their own). */
export type Scheduler = (fn: () => void) => void;

/**
 * Puts that will be written together, and the one promise they all share. Why one promise per
 * group and not per put: the puts of a batch succeed or fail together, and on the hot path a
 * promise and its closures per record are measurable garbage.
 */
class Group {
  readonly puts: RecordPut[] = [];
  readonly written: Promise<void>;
  resolve: () => void = () => undefined;
  reject: (err: unknown) => void = () => undefined;

  constructor() {
    this.written = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

const defaultSchedule: Scheduler = (fn) => {
  setImmediate(fn);
};

/** Collects puts and writes them in groups, at most one batch in flight at a time. */
export class WriteBatcher {
  /** Groups waiting to be written, oldest first; only the last one still takes puts. */
  private queue: Group[] = [];
  private scheduled = false;
  private inFlight = false;
  private idleWaiters: (() => void)[] = [];
  /** Work to run once the batch in flight has settled, before the next one starts. */
  private betweenWaiters: (() => void)[] = [];
  private batches = 0;
  private records = 0;
  /** Records in `queue` (not the batch being written). */
  private queuedRecords = 0;

  /**
   * @param write writes one batch.
   * @param maxBatch the most records in one batch; the rest wait for the next.
   * @param schedule defers the first flush so that puts of the same turn join it.
   * @param maxQueued records that may wait for a batch; one more is refused at once with
   *   {@link WriteQueueFullError}. Why a bound: when the disk falls behind, every write in flight
   *   would otherwise wait here holding its record, without limit.
   */
  constructor(
    private readonly write: BatchWriter,
    private readonly maxBatch = 512,
    private readonly schedule: Scheduler = defaultSchedule,
    private readonly maxQueued = 4096,
  ) {}

  /**
   * Queues a put; resolves when the batch holding it has been written, rejects if that failed.
   * Puts of one batch share one promise.
   */
  put(put: RecordPut): Promise<void> {
    if (this.queuedRecords >= this.maxQueued) return Promise.reject(new WriteQueueFullError(this.queuedRecords, this.maxQueued));
    this.queuedRecords += 1;
    let group = this.queue[this.queue.length - 1];
    if (group === undefined || group.puts.length >= this.maxBatch) {
      group = new Group();
      this.queue.push(group);
    }
    group.puts.push(put);
    this.kick();
    return group.written;
  }

  /** Resolves once nothing is queued or being written. */
  idle(): Promise<void> {
    if (!this.inFlight && !this.scheduled && this.queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Runs `fn` (synchronous) at a moment when no batch is being written: at once when none is,
   * otherwise as soon as the one in flight has settled — after everything its writer did when it
   * completed, before the next batch starts. The Merkle trees take their snapshots here: a batch
   * is then either wholly in LevelDB with its tree updates applied, or not started.
   */
  between<T>(fn: () => T): Promise<T> {
    if (!this.inFlight) {
      try {
        return Promise.resolve(fn());
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    return new Promise<T>((resolve, reject) => {
      this.betweenWaiters.push(() => {
        try {
          resolve(fn());
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
  }

  /** Batches written and records in them, since creation (for the average group size). */
  get counters(): { readonly batches: number; readonly records: number } {
    return { batches: this.batches, records: this.records };
  }

  private kick(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const group = this.queue.shift();
    if (group === undefined) {
      this.notifyIdle();
      return;
    }
    this.inFlight = true;
    this.queuedRecords -= group.puts.length;
    this.batches += 1;
    this.records += group.puts.length;
    let writing: Promise<void>;
    try {
      writing = this.write(group.puts);
    } catch (err) {
      writing = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    writing.then(
      () => this.settle(group, undefined),
      (err: unknown) => this.settle(group, err ?? new Error('batch write failed')),
    );
  }

  private settle(group: Group, err: unknown): void {
    this.inFlight = false;
    if (err === undefined) group.resolve();
    else group.reject(err);
    const between = this.betweenWaiters;
    this.betweenWaiters = [];
    for (const w of between) w();
    // Puts that queued while this batch was on its way have waited long enough: write them now.
    if (this.queue.length > 0) this.flush();
    else this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.inFlight || this.scheduled || this.queue.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
