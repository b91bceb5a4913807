/**
 * Why a call on a multiplexed stream got no answer. One class per condition, each naming the
 * peer; the services wrap them in their own domain errors (a replica miss, a failed-open check,
 * an unreachable owner) by class, never by message text.
 */

/** Base of the stream client's errors. `retryable`: sending the call again later may succeed. */
export class StreamCallError extends Error {
  override readonly name: string = 'StreamCallError';
  constructor(
    /** The other end, as the client names it (a node id, a replica id, an address). */
    readonly peer: string,
    /** Short cause, for messages and logs: `connection refused`, `closed`, `deadline`… */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** No stream is up (the peer is down, still connecting, or the client is closed): nothing was sent. */
export class StreamUnavailableError extends StreamCallError {
  override readonly name: string = 'StreamUnavailableError';
  constructor(peer: string, cause: string) {
    super(peer, cause, `${peer}: not connected (${cause})`);
  }
}

/** The stream broke while the call was on it: the peer may or may not have carried it out. */
export class StreamBrokenError extends StreamCallError {
  override readonly name = 'StreamBrokenError';
  constructor(peer: string, cause: string) {
    super(peer, cause, `${peer}: stream broken (${cause})`);
  }
}

/** No answer within the call's timeout. */
export class StreamTimeoutError extends StreamCallError {
  override readonly name = 'StreamTimeoutError';
  constructor(
    peer: string,
    readonly timeoutMs: number,
  ) {
    super(peer, 'deadline', `${peer}: no answer within ${timeoutMs} ms`);
  }
}

/**
 * Too much is already waiting on the stream (calls in flight, or batches held back because the
 * peer does not read fast enough): refused at once instead of buffered without bound. Nothing was
 * sent; retry after a moment.
 */
export class StreamOverloadedError extends StreamCallError {
  override readonly name = 'StreamOverloadedError';
  constructor(
    peer: string,
    readonly what: 'in-flight' | 'held',
    readonly limit: number,
  ) {
    super(peer, 'overloaded', `${peer}: overloaded (${limit} calls ${what === 'held' ? 'held back by flow control' : 'in flight'}); retry later`);
  }
}

/** The client was closed: nothing more is sent. */
export class StreamClosedError extends StreamUnavailableError {
  override readonly name = 'StreamClosedError';
  constructor(peer: string) {
    super(peer, 'closed');
  }
}
