/**
 * The digest of a key's version set: what two replicas compare to decide whether they hold the
 * same versions of a key.
 *
 * It covers the set of *dots* and nothing else — not values, contexts or timestamps. Why:
 *
 * - A dot names one version for ever: storage nodes mint dots from a node-wide counter they
 *   persist, so a dot is never given to two different versions. The same dot set is the same
 *   set of versions.
 * - It is exactly the sameness the repair can act on. The merge (`mergeVersions`, and the
 *   engine's "nothing new" check, `sameVersions`) identifies versions by dot; a digest that also
 *   saw the bytes would report differences no merge can remove, and the key would be "repaired"
 *   on every exchange for ever.
 * - Its cost does not grow with value size, and it is computed twice per replica write.
 *
 * It is canonical: dots are sorted and de-duplicated before hashing, so the same set gives the
 * same digest whatever the order of its siblings (a record replicated byte for byte keeps the
 * minting node's order; a merge sorts by dot) and whatever duplicates a record might carry.
 * Corruption of stored values is left to LevelDB's block checksums.
 */
import { compareActors, type Dot } from '@quorumkv/vclock';
import { murmur3x86x128 } from './murmur3.js';

/** Bytes of a version-set digest. */
export const DIGEST_BYTES = 16;

/** A version-set digest: {@link DIGEST_BYTES} bytes. */
export type Digest = Uint8Array;

const DIGEST_SEED = 0x64767331; // 'dvs1'

let scratch = new Uint8Array(256);
const words = new Uint32Array(4);

/**
 * UTF-8 bytes of node ids. Dots name cluster members, a few dozen ids at most, so each is
 * encoded once; the bound only keeps a stream of bogus ids from growing the map for ever.
 */
const nodeIdBytes = new Map<string, Uint8Array>();
const NODE_ID_CACHE = 4096;

function utf8(node: string): Uint8Array {
  let b = nodeIdBytes.get(node);
  if (b === undefined) {
    b = Buffer.from(node, 'utf8');
    if (nodeIdBytes.size >= NODE_ID_CACHE) nodeIdBytes.clear();
    nodeIdBytes.set(node, b);
  }
  return b;
}

function byDot(a: Dot, b: Dot): number {
  return compareActors(a, b) || a.counter - b.counter;
}

/** The dots of two or more versions in canonical order; two (most sibling sets) without sorting. */
function sortedDots(versions: readonly { readonly dot: Dot }[]): Dot[] {
  const first = (versions[0] as { dot: Dot }).dot;
  if (versions.length === 2) {
    const second = (versions[1] as { dot: Dot }).dot;
    return byDot(first, second) <= 0 ? [first, second] : [second, first];
  }
  return versions.map((v) => v.dot).sort(byDot);
}

/** Grows the scratch buffer to hold `bytes`, keeping the `used` bytes already written. */
function ensure(bytes: number, used: number): void {
  if (scratch.length >= bytes) return;
  const grown = new Uint8Array(Math.max(bytes, scratch.length * 2));
  grown.set(scratch.subarray(0, used));
  scratch = grown;
}

function putU32(at: number, v: number): void {
  scratch[at] = v >>> 24;
  scratch[at + 1] = v >>> 16;
  scratch[at + 2] = v >>> 8;
  scratch[at + 3] = v;
}

/**
 * The digest of a set of versions (anything carrying a `dot`: `Version` of `@quorumkv/vclock`),
 * or `undefined` for the empty set — an absent key, which contributes nothing to a tree.
 */
export function versionSetDigest(versions: readonly { readonly dot: Dot }[]): Digest | undefined {
  if (versions.length === 0) return undefined;
  let at: number;
  if (versions.length === 1) {
    at = writeDot((versions[0] as { dot: Dot }).dot, 0);
  } else {
    at = 0;
    let previous: Dot | undefined;
    for (const dot of sortedDots(versions)) {
      if (previous === undefined || byDot(previous, dot) !== 0) at = writeDot(dot, at);
      previous = dot;
    }
  }
  murmur3x86x128(scratch, 0, at, DIGEST_SEED, words);
  const digest = new Uint8Array(DIGEST_BYTES);
  for (let w = 0; w < 4; w++) {
    const v = words[w] as number;
    digest[w * 4] = v >>> 24;
    digest[w * 4 + 1] = v >>> 16;
    digest[w * 4 + 2] = v >>> 8;
    digest[w * 4 + 3] = v;
  }
  return digest;
}

/**
 * Writes one dot at `at` in the scratch buffer and returns where the next one goes: the UTF-8
 * byte length of the node id (u32), the id, the incarnation's epoch (u64), the counter (u64), all
 * big-endian — unambiguous, so two different sets never encode to the same bytes.
 */
function writeDot(dot: Dot, at: number): number {
  const node = utf8(dot.node);
  ensure(at + 20 + node.length, at);
  putU32(at, node.length);
  scratch.set(node, at + 4);
  at += 4 + node.length;
  const epoch = BigInt.asUintN(64, dot.epoch);
  putU32(at, Number(epoch >> 32n));
  putU32(at + 4, Number(epoch & 0xffff_ffffn));
  putU32(at + 8, Math.floor(dot.counter / 0x1_0000_0000));
  putU32(at + 12, dot.counter >>> 0);
  return at + 16;
}

/** Whether two digests (or absences) are equal. */
export function sameDigest(a: Digest | undefined, b: Digest | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
