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

/**
 * Hashes `bytes[start, end)` with `seed` and writes the four 32-bit words h1…h4 into `out`
 * (unsigned). Printed as `h1 h2 h3 h4` in 8-digit hex, this is the reference's x86_128 output.
 */
export function murmur3x86x128(bytes: Uint8Array, start: number, end: number, seed: number, out: Uint32Array): void {
  const len = end - start;
  let h1 = seed >>> 0;
  let h2 = h1;
  let h3 = h1;
  let h4 = h1;
  const blocksEnd = start + (len & ~15);
  for (let i = start; i < blocksEnd; i += 16) {
    let k1 = word(bytes, i);
    let k2 = word(bytes, i + 4);
    let k3 = word(bytes, i + 8);
    let k4 = word(bytes, i + 12);

    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;

    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;

    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;

    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }

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
    if (rem > 12) h4 ^= Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    if (rem > 8) h3 ^= Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    if (rem > 4) h2 ^= Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h1 ^= Math.imul(rotl(Math.imul(k1, C1), 15), C2);
  }

  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
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
