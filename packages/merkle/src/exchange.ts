/**
 * The exchange: find the keys whose version sets differ between two replicas of a range, moving
 * as few bytes as the trees allow.
 *
 * 1. Compare the roots. Equal roots: nothing to do.
 * 2. Walk down `stepBits` levels per round trip, asking both replicas only for the children of
 *    nodes that differed, to the shallower tree's depth.
 * 3. List the (key, digest) entries of the differing segments on both sides; a key differs when
 *    its digests differ or one side lacks it.
 * 4. Look again after `pause()`: a key counts as divergent only if it differed the second time
 *    *with the same digests on both sides as the first time*. A write in flight (on one replica,
 *    not yet on the other) has settled by then or changed a digest, and is not counted; a key
 *    diverged for good is seen the same way twice. (Tictac AAE compares twice and keeps what
 *    differed both times; requiring the same digests also drops a hot key that kept changing, which
 *    its own writes replicate, and which the next exchange sees if it is still diverged.)
 *
 * Repair is the caller's: merge both replicas' version sets into both, for each divergent key.
 */
import { depthForKeys, HASH_BYTES, MAX_DEPTH, type TreeSummary } from './merkle-tree.js';
import { PeerResponseError, type PeerSide } from './errors.js';
import type { PeerTree } from './peer.js';
import { sameDigest } from './digest.js';
import { keyPosition } from './hashing.js';
import { diffEntries, readSegments, type DivergentKey, type Listing } from './segment-diff.js';
import { ExchangeMeter } from './exchange-meter.js';

export type { DivergentKey } from './segment-diff.js';

/** Options of {@link exchange}. */
export interface ExchangeOptions {
  /**
   * Waits between the two looks at the differing keys: long enough for a write in flight to
   * reach every replica (the service: a timer of a few replication timeouts; tests: a promise
   * they resolve).
   */
  readonly pause: () => Promise<void>;
  /**
   * Levels descended per round trip: each differing node's 2^stepBits children are read. Fewer
   * bits read fewer hashes but take more round trips (see the README's table). @default 3
   */
  readonly stepBits?: number;
  /** Look twice (see the file comment). Off only to restore a replica known to be empty. @default true */
  readonly confirm?: boolean;
  /** Most parents or segments named in one call. @default 1024 */
  readonly maxPerCall?: number;
  /** Entries one segment listing call should return, by the key counts' estimate. @default 4096 */
  readonly maxEntriesPerCall?: number;
  /**
   * The position the replicas give a key in their trees (see {@link MerkleTree.update}); used to
   * check that every listed key lies in a segment that was asked. @default keyPosition
   */
  readonly position?: (key: Uint8Array) => number;
  /** Stops the exchange between round trips. */
  readonly signal?: AbortSignal;
}

/** What an exchange found and what it cost. */
export interface ExchangeResult {
  /** Depth the trees were compared at: the shallower of the two. */
  readonly depth: number;
  readonly rootsEqual: boolean;
  /** Segments at `depth` listed in the first look. */
  readonly differingSegments: number;
  /** Keys that differed in both looks with the same digests: to repair. In no particular order. */
  readonly divergent: DivergentKey[];
  /** Keys that differed in the first look only, or differently the second time (writes in flight). */
  readonly transient: number;
  /** Bytes of all requests and answers, both replicas (see `wire-size.ts`): the walk's `treeBytes`. */
  readonly bytes: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
  /** Calls made to the two replicas together. */
  readonly calls: number;
}

/** An exchange option out of its range. */
export class InvalidExchangeOptionError extends RangeError {
  override readonly name = 'InvalidExchangeOptionError';

  constructor(
    readonly option: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`${option} must be ${expected}, got ${String(value)}`);
  }
}

function intOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw new InvalidExchangeOptionError(name, v, `an integer from ${min} to ${max}`);
  return v;
}

/** Compares two replicas' trees of one range; see the file comment. */
export async function exchange(a: PeerTree, b: PeerTree, options: ExchangeOptions): Promise<ExchangeResult> {
  const stepBits = intOption('stepBits', options.stepBits, 3, 1, 8);
  const maxPerCall = intOption('maxPerCall', options.maxPerCall, 1024, 1, 1 << 20);
  const maxEntries = intOption('maxEntriesPerCall', options.maxEntriesPerCall, 4096, 1, 1 << 24);
  const position = options.position ?? keyPosition;
  const meter = new ExchangeMeter();
  const [sa, sb] = await Promise.all([meter.summary(a), meter.summary(b)]);
  checkSummary(sa, 'a');
  checkSummary(sb, 'b');
  const depth = Math.min(sa.depth, sb.depth);
  const result = (fields: Omit<ExchangeResult, 'depth' | 'bytes' | 'requestBytes' | 'responseBytes' | 'calls'>): ExchangeResult => ({
    depth,
    ...fields,
    ...meter.totals(),
  });
  if (sameHash(sa.root, sb.root)) {
    return result({ rootsEqual: true, differingSegments: 0, divergent: [], transient: 0 });
  }

  let level: number;
  let segments: number[];
  if (sa.keyCount === 0 || sb.keyCount === 0) {
    // One side is empty: every node of the other side differs, so a walk would only read every
    // hash to learn that. List all segments, at a depth where each holds about one call's entries.
    level = Math.min(depth, depthForKeys(Math.max(sa.keyCount, sb.keyCount), { keysPerSegment: maxEntries, minDepth: 0, maxDepth: MAX_DEPTH }));
    segments = Array.from({ length: 2 ** level }, (_, i) => i);
  } else {
    level = 0;
    segments = [0];
    while (level < depth && segments.length > 0) {
      options.signal?.throwIfAborted();
      const bits = Math.min(stepBits, depth - level);
      segments = await differingChildren(meter, a, b, level, segments, bits, maxPerCall);
      level += bits;
    }
  }

  const perCall = Math.max(1, Math.min(maxPerCall, Math.floor(maxEntries / Math.max(1, Math.max(sa.keyCount, sb.keyCount) / 2 ** level))));
  const read = async (which: readonly number[]): Promise<[Listing, Listing]> => {
    options.signal?.throwIfAborted();
    return Promise.all([
      readSegments(meter, a, 'a', level, which, perCall, position),
      readSegments(meter, b, 'b', level, which, perCall, position),
    ]);
  };
  const [la, lb] = await read(segments);
  const first = diffEntries(la, lb);
  if (options.confirm === false || first.length === 0) {
    return result({ rootsEqual: false, differingSegments: segments.length, divergent: first.map((d) => d.entry), transient: 0 });
  }

  await options.pause();
  const again = [...new Set(first.map((d) => d.segment))].sort((x, y) => x - y);
  const [la2, lb2] = await read(again);
  const divergent: DivergentKey[] = [];
  for (const d of first) {
    // Same digests on both sides as the first time (they differed then, so they still do).
    if (sameDigest(la2.get(d.id)?.entry.digest, d.entry.a) && sameDigest(lb2.get(d.id)?.entry.digest, d.entry.b)) divergent.push(d.entry);
  }
  return result({ rootsEqual: false, differingSegments: segments.length, divergent, transient: first.length - divergent.length });
}

/** The children at `level + bits` of `parents` whose hashes differ between the two replicas. */
async function differingChildren(
  meter: ExchangeMeter,
  a: PeerTree,
  b: PeerTree,
  level: number,
  parents: readonly number[],
  bits: number,
  maxPerCall: number,
): Promise<number[]> {
  const fanout = 2 ** bits;
  const out: number[] = [];
  for (let from = 0; from < parents.length; from += maxPerCall) {
    const chunk = parents.slice(from, from + maxPerCall);
    const [ha, hb] = await Promise.all([meter.branches(a, 'a', level, chunk, bits), meter.branches(b, 'b', level, chunk, bits)]);
    for (let i = 0; i < chunk.length * fanout; i++) {
      if (!sameHashAt(ha, hb, i * HASH_BYTES)) out.push((chunk[Math.floor(i / fanout)] as number) * fanout + (i % fanout));
    }
  }
  return out;
}

function checkSummary(s: TreeSummary, side: PeerSide): void {
  if (!Number.isInteger(s.depth) || s.depth < 0 || s.depth > MAX_DEPTH) throw new PeerResponseError(side, 'summary', `depth ${s.depth}`);
  if (!Number.isSafeInteger(s.keyCount) || s.keyCount < 0) throw new PeerResponseError(side, 'summary', `key count ${s.keyCount}`);
  if (s.root.length !== HASH_BYTES) throw new PeerResponseError(side, 'summary', `root of ${s.root.length} bytes`);
}

function sameHash(x: Uint8Array, y: Uint8Array): boolean {
  return x.length === y.length && sameHashAt(x, y, 0);
}

function sameHashAt(x: Uint8Array, y: Uint8Array, at: number): boolean {
  for (let i = at; i < at + HASH_BYTES; i++) if (x[i] !== y[i]) return false;
  return true;
}

