import { EngineClosedError } from './errors.js';

/**
 * Counts the engine's operations from start to settlement, refuses new ones once closing starts,
 * and tells `close()` when the last running one has settled — so the database is never closed
 * under an operation that still writes.
 */
export class OperationGate {
  private running = 0;
  private waiters: (() => void)[] = [];
  private closing = false;

  /** Whether closing has started. */
  get closed(): boolean {
    return this.closing;
  }

  /** Runs an operation unless closing, counting it until it settles (a throw is a rejection). */
  track<T>(op: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new EngineClosedError());
    let p: Promise<T>;
    try {
      p = op();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.running += 1;
    p.then(this.settled, this.settled);
    return p;
  }

  /** Refuses new operations from now on; resolves once none is running. False if already closing. */
  async close(): Promise<boolean> {
    if (this.closing) return false;
    this.closing = true;
    if (this.running > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return true;
  }

  private readonly settled = (): void => {
    this.running -= 1;
    if (this.running > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  };
}
