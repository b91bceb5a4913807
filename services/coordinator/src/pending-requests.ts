import type { storage } from '@quorumkv/proto';
import { replicaErrorFrom, ReplicaProtocolError, ReplicaTimeoutError } from './errors.js';
import type { TimerHandle, Timers } from './timers.js';

/** What a node answered for one request (an error answer rejects instead). */
export type ReplicaResult = Exclude<NonNullable<storage.ReplicaResponse['result']>, { $case: 'error' }>;

interface Pending {
  readonly resolve: (result: ReplicaResult) => void;
  readonly reject: (err: Error) => void;
  readonly expiresAt: number;
}

/**
 * The requests in flight on one node's stream, by id. Answers arrive in any order and are
 * matched by id; a request past its timeout fails from a coarse sweep (one timer per node, not
 * one per request — callers that need a precise deadline keep their own timer).
 */
export class PendingRequests {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private sweepTimer: TimerHandle | undefined;
  private closed = false;

  constructor(
    private readonly nodeId: string,
    private readonly timers: Timers,
    private readonly sweepIntervalMs: number,
  ) {}

  /** Requests not yet answered, failed or expired. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Registers a request that expires after `timeoutMs`. Returns its id (uint32, never 0: the
   * proto3 default) and the promise of its answer.
   */
  open(timeoutMs: number): { id: number; answer: Promise<ReplicaResult> } {
    this.nextId = (this.nextId + 1) >>> 0 || 1;
    const id = this.nextId;
    const answer = new Promise<ReplicaResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, expiresAt: this.timers.now() + timeoutMs });
    });
    this.armSweep();
    return { id, answer };
  }

  /** Settles the request an answer is for. */
  settle(res: storage.ReplicaResponse): void {
    const p = this.pending.get(res.id);
    // Why ignore unknown ids: an answer that arrives after its timeout was already failed.
    if (p === undefined) return;
    this.pending.delete(res.id);
    const result = res.result;
    if (result === undefined) p.reject(new ReplicaProtocolError(this.nodeId, 'empty answer'));
    else if (result.$case === 'error') {
      p.reject(replicaErrorFrom(this.nodeId, result.error));
    } else p.resolve(result);
  }

  /** Fails every request in flight with `err` (the stream broke or the client closed). */
  failAll(err: Error): void {
    if (this.pending.size === 0) return;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }

  /** Stops sweeping; call with {@link failAll} when the client closes. */
  close(): void {
    this.closed = true;
    if (this.sweepTimer !== undefined) this.timers.clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private armSweep(): void {
    if (this.sweepTimer !== undefined || this.closed) return;
    this.sweepTimer = this.timers.setTimeout(() => this.sweep(), this.sweepIntervalMs);
  }

  private sweep(): void {
    this.sweepTimer = undefined;
    const now = this.timers.now();
    for (const [id, p] of this.pending) {
      if (p.expiresAt <= now) {
        this.pending.delete(id);
        p.reject(new ReplicaTimeoutError(this.nodeId));
      }
    }
    if (this.pending.size > 0) this.armSweep();
  }
}
