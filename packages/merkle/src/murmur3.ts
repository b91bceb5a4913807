/**
 * MurmurHash3, x86 128-bit variant (Austin Appleby's public-domain reference), in 32-bit integer
 * arithmetic.
 *
 * Why a non-cryptographic hash: the tree is updated on every write of every replica, and a
 * `node:crypto` call costs 1–3 µs on these machines however short the input (the binding, not the
 * hashing), several times the whole budget of keeping the tree. MurmurHash3 mixes well enough
 * for the two things asked of it here — spreading keys evenly over segments, and making the XOR
 * of contributions differ whenever a (key, digest) pair differs — and the inputs that decide
 * both (dots, clocks) are minted by storage nodes, not chosen by clients.
 */

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function word(b: Uint8Array, i: number): number {
  return ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24)) >>> 0;
}

/** The running state h1…h4 of the hash being computed (one at a time: JavaScript is single-threaded). */
const H = new Int32Array(4);

function begin(seed: number): void {
  H[0] = seed;
  H[1] = seed;
  H[2] = seed;
  H[3] = seed;
}

/** Mixes one 16-byte block, as four little-endian words, into the state. */
function block(k1: number, k2: number, k3: number, k4: number): void {
  let h1 = H[0] as number;
  let h2 = H[1] as number;
  let h3 = H[2] as number;
  let h4 = H[3] as number;
  h1 ^= Math.imul(rotl(Math.imul(k1, C1), 15), C2);
  h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
  h2 ^= Math.imul(rotl(Math.imul(k2, C2), 16), C3);
  h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
  h3 ^= Math.imul(rotl(Math.imul(k3, C3), 17), C4);
  h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
  h4 ^= Math.imul(rotl(Math.imul(k4, C4), 18), C1);
  h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  H[0] = h1;
  H[1] = h2;
  H[2] = h3;
  H[3] = h4;
}

/** Finalizes a hash of `len` bytes into `out` (four unsigned words). */
function finish(len: number, out: Uint32Array): void {
  let h1 = (H[0] as number) ^ len;
  let h2 = (H[1] as number) ^ len;
  let h3 = (H[2] as number) ^ len;
  let h4 = (H[3] as number) ^ len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  out[0] = h1;
  out[1] = h2;
  out[2] = h3;
  out[3] = h4;
}

/**
 * Hashes `bytes[start, end)` with `seed` and writes the four 32-bit words h1…h4 into `out`
 * (unsigned). Printed as `h1 h2 h3 h4` in 8-digit hex, this is the reference's x86_128 output.
 */
export function murmur3x86x128(bytes: Uint8Array, start: number, end: number, seed: number, out: Uint32Array): void {
  const len = end - start;
  begin(seed);
  const blocksEnd = start + (len & ~15);
  for (let i = start; i < blocksEnd; i += 16) block(word(bytes, i), word(bytes, i + 4), word(bytes, i + 8), word(bytes, i + 12));

  // The tail: its bytes fill k1…k4 little-endian, each non-empty word is mixed into its lane.
  const rem = len & 15;
  if (rem > 0) {
    let k1 = 0;
    let k2 = 0;
    let k3 = 0;
    let k4 = 0;
    for (let j = rem - 1; j >= 0; j--) {
      const b = (bytes[blocksEnd + j] as number) << ((j & 3) * 8);
      if (j >= 12) k4 ^= b;
      else if (j >= 8) k3 ^= b;
      else if (j >= 4) k2 ^= b;
      else k1 ^= b;
    }
    if (rem > 12) H[3] = (H[3] as number) ^ Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    if (rem > 8) H[2] = (H[2] as number) ^ Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    if (rem > 4) H[1] = (H[1] as number) ^ Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    H[0] = (H[0] as number) ^ Math.imul(rotl(Math.imul(k1, C1), 15), C2);
  }
  finish(len, out);
}

/**
 * The same hash of 32 bytes given as four words (`words`, little-endian, as {@link murmur3x86x128}
 * reads them) followed by the 16 bytes `bytes16` — without copying them into one buffer first.
 */
export function murmur3x86x128WordsAndBytes(words: Uint32Array, bytes16: Uint8Array, seed: number, out: Uint32Array): void {
  begin(seed);
  block(words[0] as number, words[1] as number, words[2] as number, words[3] as number);
  block(word(bytes16, 0), word(bytes16, 4), word(bytes16, 8), word(bytes16, 12));
  finish(32, out);
}
