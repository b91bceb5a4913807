/**
 * Vector clocks and dotted version vectors for quorumkv's sibling sets, their protobuf codec, and
 * the signed causal context handed to clients.
 */
export type { Actor, ClockEntry, VectorClock, Order } from './vector-clock.js';
export {
  EMPTY_CLOCK,
  compare,
  compareActors,
  counterOf,
  descends,
  increment,
  merge,
  normalize,
  prune,
  sameActor,
} from './vector-clock.js';
export type { Dot, Version, MintInput } from './dotted-version.js';
export {
  CounterOverflowError,
  contextOf,
  covers,
  liveVersions,
  mergeVersions,
  mintVersion,
  sameVersions,
} from './dotted-version.js';
export type { AppliedMint, KeyVersions } from './duplicate-mints.js';
export { collapseDuplicateMints, mergeKeyVersions, unionAppliedMints } from './duplicate-mints.js';
export {
  MalformedVersionError,
  appliedFromProto,
  appliedToProto,
  keyVersionsFromProto,
  clockFromProto,
  clockToProto,
  toSafeNumber,
  versionFromProto,
  versionToProto,
} from './codec.js';
export type { MalformedContextReason } from './context-codec.js';
export { CONTEXT_TAG_BYTES, ContextCodec, MalformedContextError } from './context-codec.js';
export type { ContextKey, ContextKeySet } from './context-keys.js';
export {
  ContextKeysError,
  MIN_CONTEXT_SECRET_BYTES,
  checkContextKeys,
  formatContextKeys,
  parseContextKeys,
} from './context-keys.js';
