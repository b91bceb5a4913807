/**
 * What the trees read from the storage engine: its ring-position index (`a` + ring position +
 * user key → digest of the key's version set, written in the same LevelDB batch as the record),
 * and, for the periodic verification, the data records themselves.
 */

/** One key as the index holds it. */
export interface IndexEntry {
  /** The key's ring position (first 32 bits of its SHA-1). */
  readonly position: number;
  readonly key: Uint8Array;
  /** The digest of the key's version set (16 bytes). */
  readonly digest: Uint8Array;
}

/** An arc of ring positions (after, through], wrapping when `through` <= `after`. */
export interface PositionArc {
  readonly after: number;
  readonly through: number;
}

/** Where a scan resumes: after this entry of the index. */
export interface ScanCursor {
  readonly position: number;
  readonly key: Uint8Array;
}

/** The engine's side of the trees. */
export interface TreeIndex {
  /**
   * Index entries with positions in `arc`, in ring order from `arc.after` (live: no snapshot),
   * starting after `from` when given, at most `limit`.
   */
  scan(arc: PositionArc, options?: { readonly from?: ScanCursor; readonly limit?: number }): Promise<IndexEntry[]>;
  /**
   * The entries of `arcs` (in the order given, each in ring order) as they are at the moment of
   * the call: the snapshot is taken synchronously, before this returns.
   */
  snapshotIndex(arcs: readonly PositionArc[]): AsyncIterable<IndexEntry>;
  /**
   * Every data record, as of the moment of the call (taken synchronously), with the position and
   * digest computed from the record itself: what the weekly verification compares the trees with.
   */
  snapshotRecords(): AsyncIterable<IndexEntry>;
  /**
   * Runs `fn` at a moment when no write batch is between LevelDB and its tree updates (a batch
   * written but whose updates are not applied yet), and starts none until `fn` returns. A
   * snapshot taken inside `fn` then holds exactly the writes the trees have seen.
   */
  quiesce<T>(fn: () => T): Promise<T>;
  /** Keys the engine holds (for sizing trees before a scan). */
  keyCount(): number;
}
