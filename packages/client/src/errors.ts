import { Metadata, status } from '@grpc/grpc-js';

/** What the SDK knows about a failed call besides its status, used to pick the error class. */
export interface FailureContext {
  /** The coordinator address the client dials. */
  readonly address: string;
  /** Attempts made, the failed one included (0 when the call was refused before sending). */
  readonly attempts: number;
  /** The overall deadline of the call, in ms. */
  readonly deadlineMs: number;
  /** Whether the channel had a connection when the call failed (READY). */
  readonly connected: boolean;
  /** Server-requested wait parsed from `retry-after` trailers, when present. */
  readonly retryAfterMs: number | undefined;
  /** Which server the client dials. @default 'coordinator' */
  readonly service?: 'coordinator' | 'membership';
}

/** Name of a gRPC status code (`UNAVAILABLE`), or the number when the code is unknown. */
export function statusName(code: status): string {
  return status[code] ?? String(code);
}

/**
 * A call to quorumkv failed. Subclasses name the conditions callers branch on; `code` and
 * `details` are the gRPC status as the server (or grpc-js) reported it, `metadata` its trailers.
 */
export class QuorumKvError extends Error {
  override readonly name: string = 'QuorumKvError';
  constructor(
    readonly code: status,
    readonly details: string,
    readonly metadata: Metadata,
    /** Attempts made before giving up (retries included; 0 when nothing was sent). */
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(`${statusName(code)}: ${details}`, options);
  }
}

/** The request was refused as malformed (by the server, or by the SDK before sending). */
export class InvalidArgumentError extends QuorumKvError {
  override readonly name = 'InvalidArgumentError';
  constructor(details: string, metadata = new Metadata(), attempts = 0, options?: { cause?: unknown }) {
    super(status.INVALID_ARGUMENT, details, metadata, attempts, options);
  }
}

/** The trailer in which the coordinator says on how many replicas a failed write is stored. */
export const REPLICAS_STORED_TRAILER = 'x-quorumkv-replicas-stored';

/**
 * The service could not do the work now (for example a quorum of replicas was not reached).
 * Retried with backoff before it reaches the caller.
 *
 * On a put or delete this means "not confirmed", not "not written": the write may be stored on
 * fewer replicas than asked and be visible to reads. `replicasStored` says on how many (when the
 * coordinator said); retrying with the same request id — what the SDK's own retries do — never
 * stores it twice.
 */
export class UnavailableError extends QuorumKvError {
  override readonly name: string = 'UnavailableError';
  /** For a write: on how many replicas it is stored despite the failure (from the coordinator). */
  readonly replicasStored: number | undefined;
  constructor(details: string, metadata: Metadata, attempts: number, options?: { cause?: unknown }) {
    super(status.UNAVAILABLE, details, metadata, attempts, options);
    const stored = metadata.get(REPLICAS_STORED_TRAILER)[0];
    const text = typeof stored === 'string' ? stored : stored?.toString('utf8');
    this.replicasStored = text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
  }
}

/**
 * No connection to the coordinator could be made (refused, unresolvable, dropped): the call
 * never reached a server, so nothing was written.
 */
export class CoordinatorUnreachableError extends UnavailableError {
  override readonly name = 'CoordinatorUnreachableError';
  constructor(
    readonly address: string,
    details: string,
    metadata: Metadata,
    attempts: number,
    options?: { cause?: unknown },
  ) {
    super(details, metadata, attempts, options);
  }
}

/**
 * No connection to the membership service could be made (refused, unresolvable, dropped): the
 * command never reached it, so nothing changed.
 */
export class MembershipUnreachableError extends UnavailableError {
  override readonly name = 'MembershipUnreachableError';
  constructor(
    readonly address: string,
    details: string,
    metadata: Metadata,
    attempts: number,
    options?: { cause?: unknown },
  ) {
    super(details, metadata, attempts, options);
  }
}

/** The call's overall deadline passed before an answer came. */
export class DeadlineExceededError extends QuorumKvError {
  override readonly name = 'DeadlineExceededError';
  constructor(
    /** The overall deadline the call was given, in ms. */
    readonly deadlineMs: number,
    details: string,
    metadata: Metadata,
    attempts: number,
    options?: { cause?: unknown },
  ) {
    super(status.DEADLINE_EXCEEDED, details, metadata, attempts, options);
  }
}

/**
 * The call was rate limited (RESOURCE_EXHAUSTED). `retryAfterMs` is the wait the server asked
 * for, when it sent a `retry-after` trailer.
 */
export class RateLimitedError extends QuorumKvError {
  override readonly name = 'RateLimitedError';
  constructor(
    readonly retryAfterMs: number | undefined,
    details: string,
    metadata: Metadata,
    attempts: number,
    options?: { cause?: unknown },
  ) {
    super(status.RESOURCE_EXHAUSTED, details, metadata, attempts, options);
  }
}

/** A client or call option is out of range: a programming error, thrown before anything is sent. */
export class ClientOptionsError extends Error {
  override readonly name = 'ClientOptionsError';
  constructor(
    readonly option: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`${option} must be ${expected}, got ${String(value)}`);
  }
}

/** The shape of a grpc-js call error (`@grpc/grpc-js` `ServiceError`). */
interface GrpcErrorLike {
  readonly code: status;
  readonly details: string;
  readonly metadata: Metadata;
}

function isGrpcError(err: unknown): err is GrpcErrorLike {
  return (
    err instanceof Error &&
    typeof (err as Partial<GrpcErrorLike>).code === 'number' &&
    typeof (err as Partial<GrpcErrorLike>).details === 'string' &&
    (err as Partial<GrpcErrorLike>).metadata instanceof Metadata
  );
}

/**
 * Turns whatever a grpc-js call rejected with into the matching {@link QuorumKvError}. An
 * UNAVAILABLE on a channel without a connection is {@link CoordinatorUnreachableError}: the
 * channel state, not the message text, tells a refused connection from a quorum not reached.
 */
export function toQuorumKvError(err: unknown, ctx: FailureContext): QuorumKvError {
  if (err instanceof QuorumKvError) return err;
  if (!isGrpcError(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return new QuorumKvError(status.INTERNAL, `client error: ${message}`, new Metadata(), ctx.attempts, {
      cause: err,
    });
  }
  const { code, details, metadata } = err;
  const options = { cause: err };
  switch (code) {
    case status.INVALID_ARGUMENT:
      return new InvalidArgumentError(details, metadata, ctx.attempts, options);
    case status.UNAVAILABLE:
      if (ctx.connected) return new UnavailableError(details, metadata, ctx.attempts, options);
      return ctx.service === 'membership'
        ? new MembershipUnreachableError(ctx.address, details, metadata, ctx.attempts, options)
        : new CoordinatorUnreachableError(ctx.address, details, metadata, ctx.attempts, options);
    case status.DEADLINE_EXCEEDED:
      return new DeadlineExceededError(ctx.deadlineMs, details, metadata, ctx.attempts, options);
    case status.RESOURCE_EXHAUSTED:
      return new RateLimitedError(ctx.retryAfterMs, details, metadata, ctx.attempts, options);
    default:
      return new QuorumKvError(code, details, metadata, ctx.attempts, options);
  }
}
