import type { TimerHandle, Timers } from './timers.js';

interface Entry<R> {
  readonly resolve: (result: R) => void;
  readonly reject: (err: Error) => void;
  readonly timeoutMs: number;
  /** Infinity until the timeout is started. */
  expiresAt: number;
}

/**
 * The calls in flight on one stream, by id, with a coarse timeout sweep. Answers arrive in any
 * order and are matched by id. Expiry times are rounded up to `granularityMs` and grouped, and
 * one timer waits for the earliest group: a call costs no timer of its own (thousands are in
 * flight under load) and never expires early, at most `granularityMs` late.
 */
export class PendingCalls<R> {
  private readonly calls = new Map<number, Entry<R>>();
  /** Ids by rounded expiry time; `times` holds the keys in ascending order. */
  private readonly groups = new Map<number, number[]>();
  private times: number[] = [];
  private timer: TimerHandle | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private nextId = 0;

  constructor(
    private readonly timers: Timers,
    private readonly granularityMs: number,
    /** The error an expired call is rejected with. */
    private readonly timeoutError: (timeoutMs: number) => Error,
    /** Called after a sweep rejected `expired` calls (at least one). */
    private readonly afterExpiry: (expired: number) => void = () => undefined,
    /**
     * Runs the rejection of the calls a sweep found expired. @default `setImmediate`: after the
     * I/O callbacks of the turn, so an answer that had already arrived when the timer fired —
     * a busy event loop runs timers before it reads sockets — still settles its call, and a
     * timeout means the answer really was late, not that this process was.
     */
    private readonly deferExpiry: (fn: () => void) => void = (fn) => setImmediate(fn),
  ) {}

  /** Calls not yet answered, failed or expired. */
  get size(): number {
    return this.calls.size;
  }

  /** Whether `id` is still waiting for its answer. */
  has(id: number): boolean {
    return this.calls.has(id);
  }

  /**
   * A fresh id: uint32, never 0 (the proto3 default, so a forgotten id is caught), never one
   * still in flight.
   */
  nextFreeId(): number {
    do this.nextId = (this.nextId + 1) >>> 0 || 1;
    while (this.calls.has(this.nextId));
    return this.nextId;
  }

  /**
   * Registers call `id`, which times out `timeoutMs` after its timeout starts: now, or with
   * `startNow` false when {@link start} is called (when it is sent, say). Returns the promise of
   * its answer.
   */
  open(id: number, timeoutMs: number, startNow = true): Promise<R> {
    const answer = new Promise<R>((resolve, reject) => this.calls.set(id, { resolve, reject, timeoutMs, expiresAt: Number.POSITIVE_INFINITY }));
    if (startNow) this.start(id);
    return answer;
  }

  /** Starts call `id`'s timeout now (once; later calls change nothing). */
  start(id: number): void {
    const entry = this.calls.get(id);
    if (entry === undefined || entry.expiresAt !== Number.POSITIVE_INFINITY) return;
    const expiresAt = this.timers.now() + entry.timeoutMs;
    entry.expiresAt = expiresAt;
    const g = this.granularityMs;
    const at = Math.ceil(expiresAt / g) * g;
    const group = this.groups.get(at);
    if (group !== undefined) group.push(id);
    else {
      this.groups.set(at, [id]);
      insertSorted(this.times, at);
    }
    if (at < this.timerAt) this.armTimer(at);
  }

  /** Resolves call `id`; false when it is no longer waiting (expired, failed, or never sent). */
  resolve(id: number, result: R): boolean {
    const e = this.take(id);
    e?.resolve(result);
    return e !== undefined;
  }

  /** Rejects call `id`; false when it is no longer waiting. */
  reject(id: number, err: Error): boolean {
    const e = this.take(id);
    e?.reject(err);
    return e !== undefined;
  }

  /** Fails every call in flight with `err` (the stream broke or the client closed). */
  failAll(err: Error): void {
    const all = [...this.calls.values()];
    this.calls.clear();
    this.clearTimer();
    for (const e of all) e.reject(err);
  }

  private take(id: number): Entry<R> | undefined {
    const e = this.calls.get(id);
    if (e === undefined) return undefined;
    this.calls.delete(id);
    // Nothing left to time out: drop the groups and the timer instead of waking up for nothing.
    if (this.calls.size === 0) this.clearTimer();
    return e;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.groups.clear();
    this.times = [];
  }

  private armTimer(at: number): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.timers.setTimeout(() => this.sweep(), Math.max(0, at - this.timers.now()));
  }

  private sweep(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.timers.now();
    const due: [number, Entry<R>][] = [];
    let i = 0;
    for (; i < this.times.length; i++) {
      const at = this.times[i]!;
      if (at > now) break;
      for (const id of this.groups.get(at) ?? []) {
        const entry = this.calls.get(id);
        // An id answered before its time is gone, or (after wrapping) belongs to a later call.
        if (entry === undefined || entry.expiresAt > now) continue;
        due.push([id, entry]);
      }
      this.groups.delete(at);
    }
    this.times = this.times.slice(i);
    const next = this.times[0];
    if (next !== undefined) this.armTimer(next);
    if (due.length > 0) this.deferExpiry(() => this.expire(due));
  }

  private expire(due: readonly [number, Entry<R>][]): void {
    let expired = 0;
    for (const [id, entry] of due) {
      // Answered (or failed) since the sweep found it due: nothing to do.
      if (this.calls.get(id) !== entry) continue;
      this.calls.delete(id);
      expired++;
      entry.reject(this.timeoutError(entry.timeoutMs));
    }
    if (this.calls.size === 0) this.clearTimer();
    if (expired > 0) this.afterExpiry(expired);
  }
}

function insertSorted(times: number[], at: number): void {
  // Nearly always the newest time (timeouts are alike): append without searching.
  if (times.length === 0 || times[times.length - 1]! < at) {
    times.push(at);
    return;
  }
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! < at) lo = mid + 1;
    else hi = mid;
  }
  times.splice(lo, 0, at);
}
