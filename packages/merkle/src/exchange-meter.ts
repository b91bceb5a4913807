/**
 * Calls to the two replicas of an exchange, each counted in bytes as `wire-size.ts` models the
 * messages, and each answer's size checked against what was asked.
 */
import { PeerResponseError, type PeerSide } from './errors.js';
import { HASH_BYTES, type TreeSummary } from './merkle-tree.js';
import type { KeyDigest, PeerTree } from './peer.js';
import {
  branchesRequestBytes,
  branchesResponseBytes,
  emptyRequestBytes,
  segmentsRequestBytes,
  segmentsResponseBytes,
  summaryBytes,
} from './wire-size.js';

/** Counts what an exchange sends and receives. */
export class ExchangeMeter {
  private requestBytes = 0;
  private responseBytes = 0;
  private calls = 0;

  async summary(peer: PeerTree): Promise<TreeSummary> {
    this.count(emptyRequestBytes());
    const s = await peer.summary();
    this.responseBytes += summaryBytes(s);
    return s;
  }

  async branches(peer: PeerTree, side: PeerSide, parentDepth: number, parents: readonly number[], bits: number): Promise<Uint8Array> {
    this.count(branchesRequestBytes(parentDepth, parents, bits));
    const hashes = await peer.branches(parentDepth, parents, bits);
    this.responseBytes += branchesResponseBytes(hashes.length);
    const expected = parents.length * 2 ** bits * HASH_BYTES;
    if (hashes.length !== expected) throw new PeerResponseError(side, 'branches', `${hashes.length} bytes of hashes, expected ${expected}`);
    return hashes;
  }

  async segmentEntries(peer: PeerTree, depth: number, segments: readonly number[]): Promise<readonly KeyDigest[]> {
    this.count(segmentsRequestBytes(depth, segments));
    const entries = await peer.segmentEntries(depth, segments);
    this.responseBytes += segmentsResponseBytes(entries);
    return entries;
  }

  /** Bytes and calls so far. */
  totals(): { bytes: number; requestBytes: number; responseBytes: number; calls: number } {
    return {
      bytes: this.requestBytes + this.responseBytes,
      requestBytes: this.requestBytes,
      responseBytes: this.responseBytes,
      calls: this.calls,
    };
  }

  private count(requestBytes: number): void {
    this.calls += 1;
    this.requestBytes += requestBytes;
  }
}
