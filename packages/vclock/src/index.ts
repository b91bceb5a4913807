/**
 * Vector clocks and dotted version vectors for quorumkv's sibling sets, plus their protobuf codec.
 */
export type { ClockEntry, VectorClock, Order } from './vector-clock.js';
export {
  EMPTY_CLOCK,
  compare,
  counterOf,
  descends,
  increment,
  merge,
  normalize,
  prune,
} from './vector-clock.js';
export type { Dot, Version, MintInput } from './dotted-version.js';
export {
  contextOf,
  covers,
  liveVersions,
  mergeVersions,
  mintVersion,
  sameVersions,
} from './dotted-version.js';
export type { MalformedContextReason } from './codec.js';
export {
  MalformedContextError,
  MalformedVersionError,
  clockFromProto,
  clockToProto,
  decodeContext,
  encodeContext,
  versionFromProto,
  versionToProto,
} from './codec.js';
