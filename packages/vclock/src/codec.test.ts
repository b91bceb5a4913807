import { storage } from '@quorumkv/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MalformedContextError,
  MalformedVersionError,
  clockFromProto,
  clockToProto,
  decodeContext,
  encodeContext,
  versionFromProto,
  versionToProto,
} from './codec.js';
import { crc32 } from './crc32.js';
import type { Version } from './dotted-version.js';
import { type VectorClock, normalize } from './vector-clock.js';

const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const clockArb: fc.Arbitrary<VectorClock> = fc
  .array(fc.record({ node: fc.string({ minLength: 1, maxLength: 12 }), counter: safe, timestampMs: safe }), {
    maxLength: 12,
  })
  .map(normalize);
const versionArb: fc.Arbitrary<Version> = fc.record({
  dot: fc.record({ node: fc.string({ minLength: 1, maxLength: 12 }), counter: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) }),
  context: clockArb,
  value: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  tombstone: fc.boolean(),
  writtenAtMs: safe,
});

/** A context frame around arbitrary payload bytes with a correct checksum. */
function frame(payload: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from([0x51, 0x01]), payload]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([body, crc]);
}

function reasonOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof MalformedContextError) return err.reason;
    throw err;
  }
  return 'accepted';
}

describe('protobuf codec', () => {
  it('a clock survives clockToProto → wire bytes → clockFromProto unchanged', () => {
    fc.assert(
      fc.property(clockArb, (c) => {
        const wire = storage.CausalContext.encode({ entries: clockToProto(c) }).finish();
        expect(clockFromProto(storage.CausalContext.decode(wire).entries)).toEqual(c);
      }),
    );
  });

  it('a version survives versionToProto → wire bytes → versionFromProto unchanged', () => {
    fc.assert(
      fc.property(versionArb, (v) => {
        const wire = storage.Version.encode(versionToProto(v)).finish();
        expect(versionFromProto(storage.Version.decode(wire))).toEqual(v);
      }),
    );
  });

  it('clockFromProto returns the canonical form of unsorted, duplicated entries', () => {
    const p = [
      { node: 'b', counter: 1n, timestampMs: 1n },
      { node: 'a', counter: 2n, timestampMs: 1n },
      { node: 'b', counter: 3n, timestampMs: 2n },
    ];
    expect(clockFromProto(p)).toEqual([
      { node: 'a', counter: 2, timestampMs: 1 },
      { node: 'b', counter: 3, timestampMs: 2 },
    ]);
  });

  it('versionFromProto refuses a missing dot and counters past 2^53 with MalformedVersionError', () => {
    const ok = versionToProto({ dot: { node: 'a', counter: 1 }, context: [], value: Buffer.alloc(0), tombstone: false, writtenAtMs: 0 });
    expect(() => versionFromProto({ ...ok, dot: undefined })).toThrow(MalformedVersionError);
    expect(() => versionFromProto({ ...ok, dot: { node: 'a', counter: 2n ** 53n } })).toThrow(MalformedVersionError);
    expect(() =>
      versionFromProto({ ...ok, context: [{ node: 'x', counter: 2n ** 60n, timestampMs: 0n }] }),
    ).toThrow(MalformedVersionError);
  });
});

describe('opaque client context', () => {
  it('encodeContext → decodeContext is the identity on canonical clocks', () => {
    fc.assert(fc.property(clockArb, (c) => void expect(decodeContext(encodeContext(c))).toEqual(c)));
  });

  it('the empty clock encodes as empty bytes and empty bytes decode as the empty clock', () => {
    expect(encodeContext([]).length).toBe(0);
    expect(decodeContext(new Uint8Array(0))).toEqual([]);
  });

  it('starts with the 0x51 0x01 header', () => {
    const b = encodeContext([{ node: 'a', counter: 1, timestampMs: 5 }]);
    expect([b[0], b[1]]).toEqual([0x51, 0x01]);
  });

  it('rejects random bytes with MalformedContextError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 80 }), (b) => {
        expect(() => decodeContext(b)).toThrow(MalformedContextError);
      }),
    );
  });

  it('rejects every truncation and every single-bit flip of a valid context', () => {
    fc.assert(
      fc.property(clockArb.filter((c) => c.length > 0), (c) => {
        const good = encodeContext(c);
        for (let n = 1; n < good.length; n++) expect(() => decodeContext(good.subarray(0, n))).toThrow(MalformedContextError);
        for (let bit = 0; bit < good.length * 8; bit++) {
          const bad = Buffer.from(good);
          bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
          expect(() => decodeContext(bad)).toThrow(MalformedContextError);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('names why it refused: truncated, bad header, bad checksum, bad payload, counter out of range', () => {
    const good = encodeContext([{ node: 'a', counter: 1, timestampMs: 5 }]);
    expect(reasonOf(() => decodeContext(good.subarray(0, 3)))).toBe('truncated');
    expect(reasonOf(() => decodeContext(Buffer.concat([Buffer.from([0x51, 0x02]), good.subarray(2)])))).toBe('bad-header');
    expect(reasonOf(() => decodeContext(Buffer.concat([good.subarray(0, -1), Buffer.from([good.at(-1)! ^ 1])])))).toBe('bad-checksum');
    expect(reasonOf(() => decodeContext(frame(Buffer.from([0x0a, 0x7f]))))).toBe('bad-payload');
    const huge = storage.CausalContext.encode({ entries: [{ node: 'a', counter: 2n ** 60n, timestampMs: 0n }] }).finish();
    expect(reasonOf(() => decodeContext(frame(huge)))).toBe('counter-out-of-range');
  });

  it('crc32 matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});
