import { StaleRingEpochError } from './errors.js';

/**
 * Watches the replica requests of one attempt at an operation for epoch-fencing refusals, and
 * remembers the newest ring epoch a storage node said it knows. The operation, if it fails, then
 * catches up with that epoch and is routed again on the newer ring.
 */
export class FenceWatch {
  /** The newest ring epoch a refusing node knew (0: no refusal). */
  newest = 0;

  /** `request`, unchanged, with its fencing refusal (if any) noted. */
  watch<T>(request: Promise<T>): Promise<T> {
    return request.catch((err: unknown) => {
      if (err instanceof StaleRingEpochError && err.knownEpoch > this.newest) this.newest = err.knownEpoch;
      throw err;
    });
  }
}
