import type { handleUnaryCall, ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toStatusObject } from './errors.js';

/** Absolute deadline of a call in ms since epoch, or Infinity when the caller set none. */
export function callDeadline(call: { getDeadline(): Date | number }): number {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) && ms > 0 ? ms : Number.POSITIVE_INFINITY;
}

/**
 * Adapts an async handler to grpc-js: its result is the response; anything it throws goes
 * through the one error mapper ({@link toStatusObject}).
 */
export function unary<Req, Res>(
  logger: Logger,
  handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    let answer: Promise<Res>;
    try {
      answer = handler(call.request, call);
    } catch (err) {
      // A handler that throws before returning its promise still goes through the mapper.
      answer = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    answer.then(
      (res) => callback(null, res),
      (err: unknown) => callback(toStatusObject(err, logger), null),
    );
  };
}
