/**
 * Epoch fencing of replica requests. Every request carries the ring epoch its coordinator routed
 * it by; this node refuses one older than the epoch it knows, and can tell when the requests it
 * admitted under older epochs have all finished.
 *
 * Why: while a range moves to a new owner, a coordinator still on an older epoch would write only
 * to the range's old owners. If the new owner had already streamed the range from the old one,
 * that write would fall between them: acknowledged, but on fewer than W of the future replicas.
 * Refusing it sends the coordinator to catch up with the ring (where the new owner is a pending
 * target) before it writes. Reads are fenced too: after a move commits, an old owner drops the
 * range, and a coordinator behind would read it there as missing.
 *
 * The refusal covers requests that arrive after this node learned the epoch; `drainedBelow(e)`
 * covers those admitted just before: a node serving a range to a new owner for epoch `e` waits
 * for it first, so no write admitted under an older epoch lands after the range was read.
 */
import { StaleEpochError } from './errors.js';

interface Waiter {
  readonly below: number;
  readonly resolve: () => void;
}

/** Admits replica requests by ring epoch and tracks the ones still running per epoch. */
export class EpochFence {
  private readonly running = new Map<number, number>();
  private waiters: Waiter[] = [];

  /** @param currentEpoch the ring epoch this node knows now (0: none, every request is admitted). */
  constructor(private readonly currentEpoch: () => number) {}

  /**
   * Admits a request routed by `epoch`; call the returned function when it has finished.
   * @throws StaleEpochError when this node knows a newer epoch.
   */
  admit(epoch: number): () => void {
    const known = this.currentEpoch();
    if (epoch < known) throw new StaleEpochError(epoch, known);
    this.running.set(epoch, (this.running.get(epoch) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.running.get(epoch) ?? 1) - 1;
      if (left === 0) this.running.delete(epoch);
      else this.running.set(epoch, left);
      if (left === 0 && this.waiters.length > 0) this.wake();
    };
  }

  /** Requests admitted under an epoch below `epoch` and not finished yet. */
  runningBelow(epoch: number): number {
    let n = 0;
    for (const [e, count] of this.running) if (e < epoch) n += count;
    return n;
  }

  /** Resolves once no request admitted under an epoch below `epoch` is still running. */
  drainedBelow(epoch: number): Promise<void> {
    if (this.runningBelow(epoch) === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push({ below: epoch, resolve }));
  }

  private wake(): void {
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (this.runningBelow(w.below) === 0) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }
}
