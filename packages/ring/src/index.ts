/**
 * Consistent hashing for quorumkv: a ring with virtual nodes, preference lists (distinct physical
 * nodes, zone-aware, sloppy-quorum skips) and the ranges that move on membership changes.
 */
export type { AddNodeOptions, PreferenceOptions, RingOptions } from './hash-ring.js';
export { HashRing } from './hash-ring.js';
export type { MovedRange } from './moved-ranges.js';
export { movedRanges } from './moved-ranges.js';
export { DuplicateNodeError } from './errors.js';
export { RING_SIZE, arcLength, inArc, sha1Position } from './position.js';
export { RingView, inRange, keyPosition } from './ring-view.js';
export type { MemberState, RangeRelease, RangeTransfer, RingMember, RingSnapshot, WriteTargets } from './ring-view.js';
export type { ReplicaArc } from './replica-arcs.js';
export { arcIndexAt, arcShare, arcsOfNode, arcsOverlap, replicaArcs } from './replica-arcs.js';
