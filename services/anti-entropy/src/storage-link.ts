/**
 * What the worker asks of one storage node: its trees (TreeService), the version sets of keys and
 * merges into them (the Replicate stream's ReadOp and MergeOp, the read-repair path), and its
 * tombstones. `grpc-storage-link.ts` implements it over gRPC; tests use replicas in memory.
 */
import type { KeyDigest } from '@quorumkv/merkle';
import type { AppliedMint, KeyVersions, Version } from '@quorumkv/vclock';

/** An arc (start, end] of the ring. */
export interface Arc {
  readonly start: number;
  readonly end: number;
}

/** One arc's tree as a node reports it. */
export interface ArcSummaryInfo extends Arc {
  readonly depth: number;
  readonly keyCount: number;
  /** 8 bytes; empty while `building`. */
  readonly root: Uint8Array;
  /** The node is building the arc's tree: nothing to compare yet. */
  readonly building: boolean;
}

/** Bytes moved, by purpose: the tree walk (summaries, branches, segment listings) and repairs. */
export class ByteMeter {
  tree = 0;
  repair = 0;
  calls = 0;

  /** Counts one call's request and answer. */
  add(kind: 'tree' | 'repair', bytes: number): void {
    this.calls += 1;
    if (kind === 'tree') this.tree += bytes;
    else this.repair += bytes;
  }

  get total(): number {
    return this.tree + this.repair;
  }
}

/** One page of purge candidates. */
export interface TombstonePage {
  readonly keys: readonly KeyDigest[];
  /** Where the next page starts; empty when the arc is done. */
  readonly next: Uint8Array;
  readonly scanned: number;
}

/** See the file comment. Every call may fail with a gRPC-coded error (see `errors.ts`). */
export interface StorageLink {
  readonly node: string;
  summaries(epoch: number, arcs: readonly Arc[], meter: ByteMeter): Promise<ArcSummaryInfo[]>;
  branches(epoch: number, arc: Arc, parentDepth: number, parents: readonly number[], bits: number, meter: ByteMeter): Promise<Uint8Array>;
  segmentEntries(epoch: number, arc: Arc, depth: number, segments: readonly number[], meter: ByteMeter): Promise<KeyDigest[]>;
  /**
   * Every version of `key` on the node (empty when absent). `epoch`: the ring epoch the repair is
   * planned on (a node on a newer one refuses it, as it refuses a coordinator's stale request).
   */
  read(epoch: number, key: Uint8Array, meter: ByteMeter): Promise<KeyVersions>;
  /**
   * Merges `versions` into the node's set of `key` (idempotent), with the request ids applied
   * to the key on the replicas read, so a write minted twice collapses there too.
   */
  merge(epoch: number, key: Uint8Array, versions: readonly Version[], meter: ByteMeter, applied?: readonly AppliedMint[]): Promise<void>;
  listTombstones(epoch: number, arc: Arc, writtenBeforeMs: number, afterKey: Uint8Array, limit: number, meter: ByteMeter): Promise<TombstonePage>;
  purgeTombstones(
    epoch: number,
    arc: Arc,
    writtenBeforeMs: number,
    keys: readonly KeyDigest[],
    meter: ByteMeter,
  ): Promise<{ readonly purged: number; readonly changed: number }>;
}
