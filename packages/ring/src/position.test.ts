import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RING_SIZE, arcLength, inArc, lowerBound, sha1Position } from './position.js';

describe('sha1Position', () => {
  it('is the first 32 bits of SHA-1, big-endian and unsigned (FIPS 180 test vectors)', () => {
    expect(sha1Position('')).toBe(0xda39a3ee);
    expect(sha1Position('abc')).toBe(0xa9993e36);
  });

  it('hashes a string as its UTF-8 bytes', () => {
    fc.assert(fc.property(fc.string(), (s) => sha1Position(s) === sha1Position(new TextEncoder().encode(s))));
  });
});

describe('arcs', () => {
  it('inArc is (start, end] clockwise, wrapping when start > end, the full circle when equal', () => {
    expect(inArc(10, 10, 20)).toBe(false);
    expect(inArc(20, 10, 20)).toBe(true);
    expect(inArc(RING_SIZE - 1, 4_000_000_000, 5)).toBe(true);
    expect(inArc(0, 4_000_000_000, 5)).toBe(true);
    expect(inArc(6, 4_000_000_000, 5)).toBe(false);
    expect(inArc(123, 7, 7)).toBe(true);
  });

  it('arcLength counts the positions inArc accepts', () => {
    expect(arcLength(10, 20)).toBe(10);
    expect(arcLength(RING_SIZE - 2, 1)).toBe(3);
    expect(arcLength(5, 5)).toBe(RING_SIZE);
  });
});

describe('lowerBound', () => {
  it('finds the first element >= x in a sorted array', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 1000 })), fc.nat({ max: 1001 }), (xs, x) => {
        const a = Uint32Array.from(xs.sort((p, q) => p - q));
        const i = lowerBound(a, x);
        const expected = a.findIndex((v) => v >= x);
        return i === (expected === -1 ? a.length : expected);
      }),
    );
  });
});
