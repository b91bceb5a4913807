/**
 * Bytes an exchange moves, counted as protobuf encodes the messages below, plus gRPC's 5-byte
 * length prefix per message. The storage node's tree RPCs are meant to carry exactly these
 * fields; the range a call is about (the service's own field, the same in every call) and HTTP/2
 * framing are left out of both the tree walk's count and the naive comparison's.
 *
 * ```proto
 * message TreeSummary { uint32 depth = 1; uint64 key_count = 2; bytes root = 3; }
 * message BranchesRequest { uint32 parent_depth = 1; uint32 bits = 2; repeated uint32 parents = 3; }
 * message BranchesResponse { bytes hashes = 1; }
 * message SegmentEntriesRequest { uint32 depth = 1; repeated uint32 segments = 2; }
 * message SegmentEntriesResponse { repeated KeyDigest entries = 1; }
 * message KeyDigest { bytes key = 1; bytes digest = 2; }
 * ```
 */
import type { KeyDigest } from './peer.js';
import type { TreeSummary } from './merkle-tree.js';

/** gRPC's per-message prefix: compressed flag and 4-byte length. */
export const GRPC_MESSAGE_PREFIX_BYTES = 5;

/** Bytes of `n` as a protobuf varint. */
export function varintBytes(n: number): number {
  let bytes = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    bytes += 1;
  }
  return bytes;
}

/** A scalar field (proto3 leaves a zero out). */
function scalarField(n: number): number {
  return n === 0 ? 0 : 1 + varintBytes(n);
}

/** A length-delimited field of `len` bytes (proto3 leaves an empty one out). */
function bytesField(len: number): number {
  return len === 0 ? 0 : 1 + varintBytes(len) + len;
}

function packed(values: readonly number[]): number {
  let len = 0;
  for (const v of values) len += varintBytes(v);
  return bytesField(len);
}

/** A request with no fields (the summary request). */
export function emptyRequestBytes(): number {
  return GRPC_MESSAGE_PREFIX_BYTES;
}

/** `TreeSummary`. */
export function summaryBytes(s: TreeSummary): number {
  return GRPC_MESSAGE_PREFIX_BYTES + scalarField(s.depth) + scalarField(s.keyCount) + bytesField(s.root.length);
}

/** `BranchesRequest`. */
export function branchesRequestBytes(parentDepth: number, parents: readonly number[], bits: number): number {
  return GRPC_MESSAGE_PREFIX_BYTES + scalarField(parentDepth) + scalarField(bits) + packed(parents);
}

/** `BranchesResponse` carrying `hashBytes` bytes of hashes. */
export function branchesResponseBytes(hashBytes: number): number {
  return GRPC_MESSAGE_PREFIX_BYTES + bytesField(hashBytes);
}

/** `SegmentEntriesRequest`. */
export function segmentsRequestBytes(depth: number, segments: readonly number[]): number {
  return GRPC_MESSAGE_PREFIX_BYTES + scalarField(depth) + packed(segments);
}

/** One `KeyDigest` inside a repeated field. */
export function entryBytes(e: KeyDigest): number {
  return bytesField(bytesField(e.key.length) + bytesField(e.digest.length));
}

/** `SegmentEntriesResponse`. */
export function segmentsResponseBytes(entries: readonly KeyDigest[]): number {
  let bytes = GRPC_MESSAGE_PREFIX_BYTES;
  for (const e of entries) bytes += entryBytes(e);
  return bytes;
}

/**
 * What a naive full comparison of two replicas moves: each is asked for every key with its
 * digest (one request, and every entry in the answer).
 */
export function naiveComparisonBytes(a: readonly KeyDigest[], b: readonly KeyDigest[]): number {
  return 2 * emptyRequestBytes() + segmentsResponseBytes(a) + segmentsResponseBytes(b);
}
