import { randomBytes } from 'node:crypto';
import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import type { Logger } from 'pino';

/**
 * A known condition with the gRPC status it maps to. Domain errors extend this class with
 * readonly context fields; the edge never branches on message text.
 */
export class ServiceError extends Error {
  override readonly name: string = 'ServiceError';
  constructor(
    readonly code: status,
    message: string,
    readonly trailers?: Record<string, string>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Bad input: names the field and the limit. Nothing was changed. */
export class InvalidArgumentError extends ServiceError {
  override readonly name = 'InvalidArgumentError';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(status.INVALID_ARGUMENT, `${field}: ${problem}`);
  }
}

/** The call's deadline passed before the work finished. */
export class DeadlineExceededError extends ServiceError {
  override readonly name = 'DeadlineExceededError';
  constructor(what: string) {
    super(status.DEADLINE_EXCEEDED, `deadline exceeded while ${what}`);
  }
}

/** The service is shutting down or not ready. */
export class NotServingError extends ServiceError {
  override readonly name = 'NotServingError';
  constructor(reason: string) {
    super(status.UNAVAILABLE, reason);
  }
}

/**
 * What a caller is told about an unexpected error: an opaque text naming a fresh id, while the
 * error itself (message, stack) is logged under that id (`errorId`). Why opaque: a raw message
 * can carry paths, addresses, or internals a caller has no business reading, and it is no use to
 * them anyway; the id lets an operator find the detail.
 */
export function opaqueInternalError(err: unknown, logger: Logger | undefined, what: string): string {
  const errorId = randomBytes(6).toString('hex');
  logger?.error({ err, errorId }, what);
  return `internal error; see server logs, id=${errorId}`;
}

/**
 * Turns anything thrown by a handler into a gRPC status. Known conditions keep their code and
 * message (written for the caller); anything else becomes INTERNAL with an opaque message and
 * its detail logged ({@link opaqueInternalError}), never a bare UNKNOWN.
 */
export function toStatusObject(err: unknown, logger?: Logger): Partial<StatusObject> {
  if (err instanceof ServiceError) {
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(err.trailers ?? {})) metadata.set(k, v);
    return { code: err.code, details: err.message, metadata };
  }
  return { code: status.INTERNAL, details: opaqueInternalError(err, logger, 'unexpected error while serving a call'), metadata: new Metadata() };
}

/**
 * A service could not start for a reason the operator can fix (a port in use, a locked folder):
 * `runService` prints its message alone, without a stack trace.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The error a failed bind becomes: which address, for what, and the system's reason. */
export function listenError(address: string, what: string, cause: unknown): StartupError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const inUse = /EADDRINUSE|address already in use/i.test(reason);
  return new StartupError(
    inUse
      ? `cannot listen on ${address} for ${what}: the address is already in use (another quorumkv running? pick another port)`
      : `cannot listen on ${address} for ${what}: ${reason}`,
    { cause },
  );
}
