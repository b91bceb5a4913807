/** A scheduled event; cancelling one that ran does nothing. */
export interface SimEvent {
  readonly at: number;
  cancel(): void;
}

/** Something that runs its own events, and may hold them back (a paused process). */
export interface SimRunner {
  runEvent(fn: () => void): void;
}

class Scheduled implements SimEvent {
  cancelled = false;
  constructor(
    readonly at: number,
    readonly fn: () => void,
    readonly runner: SimRunner | undefined,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
}

/**
 * A discrete-event scheduler: virtual time jumps from one event to the next, events at the same
 * time run in the order they were scheduled, and a binary heap keeps each step O(log events) —
 * so a thousand members' probes, packets and timers simulate in seconds, identically every run.
 * The heap's keys (time, then sequence) live in typed arrays beside the events: sifting compares
 * numbers in two contiguous arrays instead of chasing event objects all over the heap.
 */
export class Simulator {
  private times = new Float64Array(1024);
  private seqs = new Float64Array(1024);
  private items: Array<Scheduled | undefined> = new Array<Scheduled | undefined>(1024);
  private size = 0;
  private seq = 0;
  private current = 0;
  private executed = 0;

  /** Virtual time in ms. */
  get now(): number {
    return this.current;
  }

  /** Events run so far. */
  get eventsRun(): number {
    return this.executed;
  }

  /** Events waiting (cancelled ones included until they surface). */
  get pending(): number {
    return this.size;
  }

  /** Runs `fn` at virtual time `at` (not before now); through `runner` when given. */
  at(at: number, fn: () => void, runner?: SimRunner): SimEvent {
    const event = new Scheduled(Math.max(at, this.current), fn, runner);
    this.push(event);
    return event;
  }

  /** Runs `fn` `delayMs` from now; through `runner` when given. */
  after(delayMs: number, fn: () => void, runner?: SimRunner): SimEvent {
    return this.at(this.current + Math.max(0, delayMs), fn, runner);
  }

  /** Runs every event due up to `untilMs`, then sets the time to `untilMs`. */
  runUntil(untilMs: number): void {
    while (this.size > 0 && (this.times[0] as number) <= untilMs) {
      const event = this.pop();
      if (event.cancelled) continue;
      this.current = event.at;
      this.executed += 1;
      if (event.runner) event.runner.runEvent(event.fn);
      else event.fn();
    }
    if (untilMs > this.current) this.current = untilMs;
  }

  /** Runs for `ms` of virtual time. */
  runFor(ms: number): void {
    this.runUntil(this.current + ms);
  }

  private push(event: Scheduled): void {
    if (this.size === this.times.length) this.grow();
    const { times, seqs, items } = this;
    const t = event.at;
    const s = this.seq++;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent] as number;
      if (pt < t || (pt === t && (seqs[parent] as number) < s)) break;
      times[i] = pt;
      seqs[i] = seqs[parent] as number;
      items[i] = items[parent];
      i = parent;
    }
    times[i] = t;
    seqs[i] = s;
    items[i] = event;
  }

  private pop(): Scheduled {
    const { times, seqs, items } = this;
    const top = items[0] as Scheduled;
    const n = --this.size;
    const t = times[n] as number;
    const s = seqs[n] as number;
    const last = items[n];
    items[n] = undefined;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const r = child + 1;
      if (r < n && ((times[r] as number) < (times[child] as number) || ((times[r] as number) === (times[child] as number) && (seqs[r] as number) < (seqs[child] as number)))) {
        child = r;
      }
      const ct = times[child] as number;
      if (t < ct || (t === ct && s < (seqs[child] as number))) break;
      times[i] = ct;
      seqs[i] = seqs[child] as number;
      items[i] = items[child];
      i = child;
    }
    if (n > 0) {
      times[i] = t;
      seqs[i] = s;
      items[i] = last;
    }
    return top;
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    const seqs = new Float64Array(this.seqs.length * 2);
    times.set(this.times);
    seqs.set(this.seqs);
    this.times = times;
    this.seqs = seqs;
    this.items.length = times.length;
  }
}
