/**
 * Tictac-style Merkle trees for anti-entropy: per-range trees over (key, version-set digest)
 * updated in O(1) per write, folded, merged and serialized, and the exchange that finds the keys
 * two replicas disagree on.
 */
export { DIGEST_BYTES, sameDigest, versionSetDigest, type Digest } from './digest.js';
export { keyPosition, segmentAt } from './hashing.js';
export { rangePosition, segmentArc, type RingArc } from './range-position.js';
export {
  HASH_BYTES,
  MAX_DEPTH,
  MerkleTree,
  TREE_OVERHEAD_BYTES,
  depthForKeys,
  type DepthForKeysOptions,
  type TreeSummary,
} from './merkle-tree.js';
export { localPeer, type KeyDigest, type PeerTree, type SegmentLister } from './peer.js';
export { exchange, InvalidExchangeOptionError, type DivergentKey, type ExchangeOptions, type ExchangeResult } from './exchange.js';
export { naiveComparisonBytes, entryBytes, GRPC_MESSAGE_PREFIX_BYTES } from './wire-size.js';
export { Pacer, InvalidPacerOptionError, type PacerOptions } from './pacer.js';
export { fillTree, type FillTreeOptions } from './rebuild.js';
export { MemoryReplica } from './testing/memory-replica.js';
export {
  InvalidDepthError,
  InvalidDigestError,
  InvalidIndexError,
  InvalidPositionError,
  PeerResponseError,
  TreeFormatError,
  type PeerSide,
  type TreeFormatReason,
} from './errors.js';
