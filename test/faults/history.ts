/**
 * The history of a run: every operation a client invoked, with when it started and ended (ms on
 * the driver's monotonic clock, from the start of the schedule) and how it ended. The checkers
 * read only this, never the cluster's own view.
 *
 * A write ends one of three ways, and the difference is the heart of the checkers:
 * - `ok`: acknowledged — it must survive;
 * - `fail`: refused before any replica was asked (INVALID_ARGUMENT, RESOURCE_EXHAUSTED from the
 *   rate-limit check) — it must never appear;
 * - `unknown`: anything else (a timeout, UNAVAILABLE, a broken connection). The write may or may
 *   not have been stored — a quorum that was not reached can still leave the value on the
 *   replica that minted it — so seeing its value later is "recovered", never "unexpected".
 */
import { status } from '@grpc/grpc-js';

export type Outcome = 'ok' | 'fail' | 'unknown';

/** A unique-key add of the set workload (Jepsen's set-full): a put of a fresh key. */
export interface AddOp {
  readonly kind: 'add';
  readonly client: number;
  readonly key: string;
  readonly value: string;
  readonly invokeMs: number;
  readonly completeMs: number;
  readonly outcome: Outcome;
  readonly error?: string;
}

/** A read of one key through the coordinator. `values` is every sibling; absent when it failed. */
export interface ReadOp {
  readonly kind: 'read';
  readonly client: number;
  readonly key: string;
  readonly invokeMs: number;
  readonly completeMs: number;
  readonly values?: readonly string[];
  readonly error?: string;
  /** True for the reads made after heal and quiesce, which decide lost and present. */
  readonly final?: boolean;
}

/** A hot-key update: a put with the context of the read just before it. */
export interface UpdateOp {
  readonly kind: 'update';
  readonly client: number;
  readonly key: string;
  readonly value: string;
  /** The siblings the read returned: the versions this put's context covers and supersedes. */
  readonly supersedes: readonly string[];
  readonly invokeMs: number;
  readonly completeMs: number;
  readonly outcome: Outcome;
  readonly error?: string;
}

/** One ShouldRateLimit call of the rate-limit workload. */
export interface LimitCheckOp {
  readonly kind: 'limit';
  readonly client: number;
  /** The counter key (descriptor value) and the rule it hits. */
  readonly key: string;
  readonly rule: string;
  /** The replica asked. */
  readonly replica: string;
  readonly invokeMs: number;
  readonly completeMs: number;
  /**
   * `admitted`: OK decided by the key's owner (it carries rate-limit headers); `fail-open`: OK
   * from the failure mode (owner unreachable; no headers); `over`: OVER_LIMIT; `error`: no answer.
   */
  readonly result: 'admitted' | 'fail-open' | 'over' | 'error';
  /** The owner's `duration_until_reset`, in ms (admitted and over only). */
  readonly resetMs?: number;
  readonly error?: string;
}

export type Op = AddOp | ReadOp | UpdateOp | LimitCheckOp;

/** What the nemesis did, and when (for the report and for replaying a failure). */
export interface NemesisEvent {
  readonly atMs: number;
  readonly action: string;
}

/** Collects a run's operations, in completion order. */
export class History {
  readonly ops: Op[] = [];
  readonly nemesis: NemesisEvent[] = [];
  private readonly start = performance.now();

  /** Ms since the schedule started, on the monotonic clock. */
  now(): number {
    return Math.round((performance.now() - this.start) * 10) / 10;
  }

  record(op: Op): void {
    this.ops.push(op);
  }

  note(action: string): void {
    this.nemesis.push({ atMs: this.now(), action });
  }

  of<K extends Op['kind']>(kind: K): Extract<Op, { kind: K }>[] {
    return this.ops.filter((op): op is Extract<Op, { kind: K }> => op.kind === kind);
  }
}

/**
 * How a failed write ended: `fail` only for refusals that store nothing, `unknown` for the rest.
 * `code` is the gRPC status of the error (the SDK's QuorumKvError carries it).
 */
export function writeOutcome(err: unknown): Outcome {
  const code = (err as { code?: unknown }).code;
  // Why so few: only these are decided before any replica is asked. UNAVAILABLE in particular
  // is not a failure — the minting replica may have stored the value before the quorum failed —
  // nor is FAILED_PRECONDITION (sibling limit): an earlier replica that timed out may have minted.
  return code === status.INVALID_ARGUMENT || code === status.RESOURCE_EXHAUSTED ? 'fail' : 'unknown';
}

/** A short description of an error for the history. */
export function describeError(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const name = typeof code === 'number' ? (status[code] ?? String(code)) : 'ERROR';
  const message = err instanceof Error ? err.message : String(err);
  return `${name}: ${message}`.slice(0, 200);
}
