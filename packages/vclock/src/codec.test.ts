import { storage } from '@quorumkv/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedVersionError, clockFromProto, clockToProto, versionFromProto, versionToProto } from './codec.js';
import type { Version } from './dotted-version.js';
import { type VectorClock, normalize } from './vector-clock.js';

const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const epochArb = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const clockArb: fc.Arbitrary<VectorClock> = fc
  .array(fc.record({ node: fc.string({ minLength: 1, maxLength: 12 }), epoch: epochArb, counter: safe, timestampMs: safe }), {
    maxLength: 12,
  })
  .map(normalize);
const versionArb: fc.Arbitrary<Version> = fc.record({
  dot: fc.record({ node: fc.string({ minLength: 1, maxLength: 12 }), epoch: epochArb, counter: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) }),
  context: clockArb,
  value: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  tombstone: fc.boolean(),
  writtenAtMs: safe,
});

describe('protobuf codec', () => {
  it('a clock survives clockToProto → wire bytes → clockFromProto unchanged, epochs included', () => {
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

  it('reads a version written before epochs existed as epoch 0', () => {
    // Field numbers 1 (node) and 2 (counter) only, as older nodes wrote them.
    const old = Buffer.from('0a0a0a066e6f64652d311005', 'hex'); // Version{dot{node:"node-1",counter:5}}
    expect(versionFromProto(storage.Version.decode(old)).dot).toEqual({ node: 'node-1', epoch: 0n, counter: 5 });
  });

  it('clockFromProto returns the canonical form of unsorted, duplicated entries', () => {
    const p = [
      { node: 'b', epoch: 0n, counter: 1n, timestampMs: 1n },
      { node: 'a', epoch: 0n, counter: 2n, timestampMs: 1n },
      { node: 'b', epoch: 0n, counter: 3n, timestampMs: 2n },
      { node: 'a', epoch: 9n, counter: 1n, timestampMs: 1n },
    ];
    expect(clockFromProto(p)).toEqual([
      { node: 'a', epoch: 0n, counter: 2, timestampMs: 1 },
      { node: 'a', epoch: 9n, counter: 1, timestampMs: 1 },
      { node: 'b', epoch: 0n, counter: 3, timestampMs: 2 },
    ]);
  });

  it('versionFromProto refuses a missing dot and counters past 2^53 with MalformedVersionError', () => {
    const ok = versionToProto({ dot: { node: 'a', epoch: 1n, counter: 1 }, context: [], value: Buffer.alloc(0), tombstone: false, writtenAtMs: 0 });
    expect(() => versionFromProto({ ...ok, dot: undefined })).toThrow(MalformedVersionError);
    expect(() => versionFromProto({ ...ok, dot: { node: 'a', epoch: 1n, counter: 2n ** 53n } })).toThrow(MalformedVersionError);
    expect(() =>
      versionFromProto({ ...ok, context: [{ node: 'x', epoch: 1n, counter: 2n ** 60n, timestampMs: 0n }] }),
    ).toThrow(MalformedVersionError);
  });
});
