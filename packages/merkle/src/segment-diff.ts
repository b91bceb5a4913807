/**
 * The last step of an exchange: list the (key, digest) entries of some segments on one replica,
 * checking that each answer is one the replica could rightly give, and compare two listings.
 */
import { DIGEST_BYTES, sameDigest, type Digest } from './digest.js';
import { PeerResponseError, type PeerSide } from './errors.js';
import type { ExchangeMeter } from './exchange-meter.js';
import { segmentAt } from './hashing.js';
import type { KeyDigest, PeerTree } from './peer.js';

/** A key whose version sets differ between the replicas: its digest on each (`undefined`: absent). */
export interface DivergentKey {
  readonly key: Uint8Array;
  readonly a: Digest | undefined;
  readonly b: Digest | undefined;
}

/** One replica's entries of the listed segments, by key (as a latin1 string). */
export type Listing = Map<string, { readonly entry: KeyDigest; readonly segment: number }>;

/** A map key for a byte key: one char per byte, so distinct keys stay distinct. */
export function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/**
 * Lists `segments` at `depth` on one replica, `perCall` segments per call.
 * @throws PeerResponseError on a digest of the wrong size, a key outside the segments asked, or
 *   a key listed twice: acting on such an answer could "repair" keys that are not diverged.
 */
export async function readSegments(
  meter: ExchangeMeter,
  peer: PeerTree,
  side: PeerSide,
  depth: number,
  segments: readonly number[],
  perCall: number,
  position: (key: Uint8Array) => number,
): Promise<Listing> {
  const listing: Listing = new Map();
  for (let from = 0; from < segments.length; from += perCall) {
    const chunk = segments.slice(from, from + perCall);
    const asked = new Set(chunk);
    for (const entry of await meter.segmentEntries(peer, depth, chunk)) {
      if (entry.digest.length !== DIGEST_BYTES) {
        throw new PeerResponseError(side, 'segmentEntries', `a digest of ${entry.digest.length} bytes`);
      }
      const segment = segmentAt(position(entry.key), depth);
      if (!asked.has(segment)) throw new PeerResponseError(side, 'segmentEntries', `a key of segment ${segment}, which was not asked`);
      const id = keyId(entry.key);
      if (listing.has(id)) throw new PeerResponseError(side, 'segmentEntries', 'a key listed twice');
      listing.set(id, { entry, segment });
    }
  }
  return listing;
}

/** The keys whose digests differ between two listings of the same segments, with their segment. */
export function diffEntries(a: Listing, b: Listing): { id: string; segment: number; entry: DivergentKey }[] {
  const out: { id: string; segment: number; entry: DivergentKey }[] = [];
  for (const [id, ea] of a) {
    const eb = b.get(id);
    if (eb === undefined || !sameDigest(ea.entry.digest, eb.entry.digest)) {
      out.push({ id, segment: ea.segment, entry: { key: ea.entry.key, a: ea.entry.digest, b: eb?.entry.digest } });
    }
  }
  for (const [id, eb] of b) {
    if (!a.has(id)) out.push({ id, segment: eb.segment, entry: { key: eb.entry.key, a: undefined, b: eb.entry.digest } });
  }
  return out;
}
