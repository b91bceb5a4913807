/**
 * The three hashes the tree is made of, each MurmurHash3 x86_128 with its own seed so that no
 * input of one can stand for an input of another:
 *
 * - a key's hash, whose first 32 bits are the key's *position*: the top `depth` bits of the
 *   position pick the key's segment at that depth, so a key lies in segment `s` at depth `d`
 *   exactly when it lies in one of the children of `s` at depth `d + 1` — trees of any depth
 *   agree on every shallower level;
 * - a key's *contribution* to its segment: 64 bits of the hash of (key hash, digest);
 * - the checksum of a serialized tree.
 */
import { murmur3x86x128, murmur3x86x128WordsAndBytes } from './murmur3.js';
import { DIGEST_BYTES, type Digest } from './digest.js';
import { InvalidDigestError } from './errors.js';

const KEY_SEED = 0x6b657931; // 'key1'
const CONTRIBUTION_SEED = 0x636f6e31; // 'con1'
const CHECKSUM_SEED = 0x63686b31; // 'chk1'

const out = new Uint32Array(4);

/**
 * Hashes `key` into `keyHash` (4 words). `keyHash[0]` is the key's position.
 * Writes into the caller's array so the write path allocates nothing.
 */
export function hashKey(key: Uint8Array, keyHash: Uint32Array): void {
  murmur3x86x128(key, 0, key.length, KEY_SEED, keyHash);
}

/**
 * The default 32-bit position of a key in a tree (its top `depth` bits are its segment at
 * `depth`): 32 bits of the key's hash, spread evenly whatever the keys.
 */
export function keyPosition(key: Uint8Array): number {
  murmur3x86x128(key, 0, key.length, KEY_SEED, out);
  return out[0] as number;
}

/** The segment at `depth` (0…24) of a key at `position`. */
export function segmentAt(position: number, depth: number): number {
  // `>>> 32` is `>>> 0` in JavaScript, so depth 0 (one segment) is spelled out.
  return depth === 0 ? 0 : position >>> (32 - depth);
}

/**
 * Writes the 64-bit contribution of (key, digest) into `into[0]` (high) and `into[1]` (low).
 *
 * Why hash the pair and not XOR a key hash with the digest: with a linear combination two keys
 * that swapped version sets between replicas, or two keys deleted alike, would cancel out and
 * leave the segment hash unchanged.
 */
export function contribution(keyHash: Uint32Array, digest: Digest, into: Uint32Array): void {
  if (digest.length !== DIGEST_BYTES) throw new InvalidDigestError(digest.length);
  // The hash of the 32 bytes (key hash little-endian, digest), without building them.
  murmur3x86x128WordsAndBytes(keyHash, digest, CONTRIBUTION_SEED, out);
  into[0] = out[0] as number;
  into[1] = out[1] as number;
}

/** A 64-bit checksum of `bytes[0, end)`, as (high, low). */
export function checksum(bytes: Uint8Array, end: number): [number, number] {
  murmur3x86x128(bytes, 0, end, CHECKSUM_SEED, out);
  return [out[0] as number, out[1] as number];
}
