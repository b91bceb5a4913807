/** A cluster view from the wire that breaks its contract (names the field). */
export class MalformedViewError extends Error {
  override readonly name = 'MalformedViewError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`malformed cluster view: ${field} ${problem}`);
  }
}

/** The view did not reach an epoch in time. */
export class EpochWaitTimeoutError extends Error {
  override readonly name = 'EpochWaitTimeoutError';
  constructor(
    /** The epoch waited for. */
    readonly epoch: number,
    /** The epoch the view had when the wait gave up (-1: no view yet). */
    readonly reached: number,
    readonly timeoutMs: number,
  ) {
    super(
      reached < 0
        ? `no cluster view from the membership service within ${timeoutMs} ms (waiting for ring epoch ${epoch})`
        : `ring epoch ${epoch} not seen within ${timeoutMs} ms (this process is at epoch ${reached})`,
    );
  }
}

/** The client was closed while a wait was pending. */
export class ViewClosedError extends Error {
  override readonly name = 'ViewClosedError';
  constructor() {
    super('the cluster view client is closed');
  }
}
