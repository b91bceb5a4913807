/**
 * The arcs a storage node keeps trees for, each with its trees, found by ring position in
 * O(log arcs): the write path's side of the trees.
 */
import { rangePosition, type Digest, type MerkleTree } from '@quorumkv/merkle';

/** Keys per segment past which a tree is rebuilt one size deeper (it was built for about 2). */
export const OUTGROWN_KEYS_PER_SEGMENT = 8;

/** The deepest tree a node builds for one arc: 2^20 segments, 8 MiB, for about 2 million keys. */
export const MAX_TREE_DEPTH = 20;

/** One arc (start, end] the node replicates, and its trees. */
export interface ArcSlot {
  readonly start: number;
  readonly end: number;
  /** The tree exchanges read; undefined until the arc's first build finishes. */
  live: MerkleTree | undefined;
  /**
   * A tree being filled from a snapshot (a build or a verification): it takes every update made
   * after the snapshot, so once filled it holds exactly what the live tree should.
   */
  fresh: MerkleTree | undefined;
  /** The arc needs a build: it has no live tree yet, or its keys outgrew the live one. */
  stale: boolean;
}

/** A new slot with no tree (to be built). */
export function emptySlot(start: number, end: number): ArcSlot {
  return { start, end, live: undefined, fresh: undefined, stale: true };
}

function inArc(position: number, start: number, end: number): boolean {
  if (start < end) return position > start && position <= end;
  if (start > end) return position > start || position <= end;
  return true;
}

/** Index of the first of sorted `ends` that is >= `position` (wrapping to 0). */
function lowerBound(ends: Uint32Array, position: number): number {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ends[mid] as number) < position) lo = mid + 1;
    else hi = mid;
  }
  return lo === ends.length ? 0 : lo;
}

/** Slots sorted by the end of their arc; arcs never overlap. */
export class ArcSlots {
  private slots: ArcSlot[] = [];
  private ends = new Uint32Array(0);

  /**
   * @param onOutgrown called when a write leaves a live tree with more than
   *   {@link OUTGROWN_KEYS_PER_SEGMENT} keys per segment (the slot is marked stale first).
   */
  constructor(private readonly onOutgrown: (slot: ArcSlot) => void = () => undefined) {}

  /** Replaces every slot (`slots` must not overlap); returns them sorted. */
  replace(slots: readonly ArcSlot[]): readonly ArcSlot[] {
    this.slots = [...slots].sort((a, b) => a.end - b.end);
    this.ends = Uint32Array.from(this.slots.map((s) => s.end));
    return this.slots;
  }

  /** Every slot, by end. */
  all(): readonly ArcSlot[] {
    return this.slots;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Whether `slot` is one of the current slots (not one replaced since). */
  has(slot: ArcSlot): boolean {
    return this.find(slot.end) === slot;
  }

  /** The slot whose arc holds `position`, if any. */
  find(position: number): ArcSlot | undefined {
    if (this.slots.length === 0) return undefined;
    const slot = this.slots[lowerBound(this.ends, position)];
    return slot !== undefined && inArc(position, slot.start, slot.end) ? slot : undefined;
  }

  /** The slot of exactly the arc (start, end], if any. */
  get(start: number, end: number): ArcSlot | undefined {
    const slot = this.find(end);
    return slot !== undefined && slot.start === start && slot.end === end ? slot : undefined;
  }

  /**
   * A key's version set changed from `oldDigest` to `newDigest` (`undefined`: absent) and is in
   * LevelDB: updates the trees of the arc holding `position`, if the node keeps one there.
   */
  update(key: Uint8Array, position: number, oldDigest: Digest | undefined, newDigest: Digest | undefined): void {
    const slot = this.find(position);
    if (slot === undefined || (slot.live === undefined && slot.fresh === undefined)) return;
    const at = rangePosition(position, slot.start, slot.end);
    slot.fresh?.update(key, oldDigest, newDigest, at);
    const live = slot.live;
    if (live === undefined) return;
    live.update(key, oldDigest, newDigest, at);
    if (!slot.stale && live.depth < MAX_TREE_DEPTH && live.keyCount > OUTGROWN_KEYS_PER_SEGMENT * live.segmentCount) {
      slot.stale = true;
      this.onOutgrown(slot);
    }
  }

  /** Bytes held by every tree (live and being filled). */
  memoryBytes(): number {
    let bytes = 0;
    for (const s of this.slots) bytes += (s.live?.memoryBytes() ?? 0) + (s.fresh?.memoryBytes() ?? 0);
    return bytes;
  }
}
