/** Errors of the Merkle tree library, one class per condition, with the offending values. */

/** A tree depth outside 0…{@link MAX_DEPTH}, or a level asked of a tree that is not that deep. */
export class InvalidDepthError extends RangeError {
  override readonly name = 'InvalidDepthError';

  constructor(
    /** What the depth was for (`depth`, `parentDepth + bits`, …). */
    readonly field: string,
    readonly depth: number,
    readonly max: number,
  ) {
    super(`${field} must be an integer from 0 to ${max}, got ${depth}`);
  }
}

/** A key position that is not a 32-bit unsigned integer. */
export class InvalidPositionError extends RangeError {
  override readonly name = 'InvalidPositionError';

  constructor(readonly position: number) {
    super(`a key position is an integer from 0 to 2^32 - 1, got ${position}`);
  }
}

/** A node or segment index that does not exist at its depth. */
export class InvalidIndexError extends RangeError {
  override readonly name = 'InvalidIndexError';

  constructor(
    readonly depth: number,
    readonly index: number,
  ) {
    super(`index ${index} does not exist at depth ${depth} (0 to ${2 ** depth - 1})`);
  }
}

/** A digest that is not {@link DIGEST_BYTES} long. */
export class InvalidDigestError extends TypeError {
  override readonly name = 'InvalidDigestError';

  constructor(readonly length: number) {
    super(`a digest is 16 bytes, got ${length}`);
  }
}

/** Why serialized tree bytes were refused. */
export type TreeFormatReason = 'truncated' | 'bad-magic' | 'unsupported-format' | 'bad-depth' | 'bad-header' | 'bad-length' | 'bad-checksum';

/** Bytes that are not a tree this library serialized (or were corrupted since). */
export class TreeFormatError extends Error {
  override readonly name = 'TreeFormatError';

  constructor(readonly reason: TreeFormatReason) {
    super(`not a serialized Merkle tree: ${reason}`);
  }
}

/** Which side of an exchange answered wrongly. */
export type PeerSide = 'a' | 'b';

/**
 * A peer's answer that cannot be right (wrong length, a key outside the segments asked, a bad
 * digest). The exchange stops: acting on it could "repair" keys that are not diverged.
 */
export class PeerResponseError extends Error {
  override readonly name = 'PeerResponseError';

  constructor(
    readonly peer: PeerSide,
    readonly call: 'summary' | 'branches' | 'segmentEntries',
    readonly problem: string,
  ) {
    super(`peer ${peer} answered ${call} wrongly: ${problem}`);
  }
}
