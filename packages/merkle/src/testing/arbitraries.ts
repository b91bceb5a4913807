/** fast-check generators shared by this package's property tests. */
import fc from 'fast-check';
import { DIGEST_BYTES, type Digest } from '../digest.js';
import { MerkleTree } from '../merkle-tree.js';
import type { KeyDigest } from '../peer.js';
import { keyId } from '../segment-diff.js';

export const keyArb: fc.Arbitrary<Uint8Array> = fc.uint8Array({ minLength: 1, maxLength: 12 });
export const digestArb: fc.Arbitrary<Digest> = fc.uint8Array({ minLength: DIGEST_BYTES, maxLength: DIGEST_BYTES });

/** A set of keys with their digests (each key once). */
export const entriesArb = (maxLength = 60): fc.Arbitrary<KeyDigest[]> =>
  fc.uniqueArray(fc.record({ key: keyArb, digest: digestArb }), { maxLength, selector: (e) => keyId(e.key) });

/** A tree holding exactly `entries`, built from scratch. */
export function treeOf(entries: Iterable<KeyDigest>, depth: number): MerkleTree {
  const t = new MerkleTree(depth);
  for (const e of entries) t.update(e.key, undefined, e.digest);
  return t;
}
