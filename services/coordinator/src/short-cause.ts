import { status, type ServiceError as GrpcError } from '@grpc/grpc-js';

/** Socket error codes worth naming in a quorum error, and how to say them. */
const SOCKET_CAUSES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connect timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EPIPE: 'connection closed',
};

/**
 * A short human cause for a failed stream or call, e.g. `connection refused`, for the message
 * of a quorum error. Display only: no decision is taken on the result.
 */
export function shortCause(err: GrpcError): string {
  const errno = /\b(E[A-Z]{4,})\b/.exec(err.details ?? '')?.[1];
  const known = errno === undefined ? undefined : SOCKET_CAUSES[errno];
  if (known !== undefined) return known;
  if (errno !== undefined) return errno;
  if (err.code === status.DEADLINE_EXCEEDED) return 'deadline';
  if (err.code === status.CANCELLED) return 'cancelled';
  const name = (status[err.code] as string | undefined) ?? String(err.code);
  return err.details ? `${name.toLowerCase()}: ${err.details}` : name.toLowerCase();
}
