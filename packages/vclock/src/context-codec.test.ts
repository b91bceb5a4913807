import { crc32 } from 'node:zlib';
import { storage } from '@quorumkv/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clockToProto } from './codec.js';
import { CONTEXT_TAG_BYTES, ContextCodec, MalformedContextError } from './context-codec.js';
import { type VectorClock, normalize } from './vector-clock.js';

const secret = (fill: number): Buffer => Buffer.alloc(32, fill);
const KEY = Buffer.from('cart:42');
const codec = new ContextCodec({ currentId: 'k1', keys: [{ id: 'k1', secret: secret(1) }] });

const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const clockArb: fc.Arbitrary<VectorClock> = fc
  .array(
    fc.record({ node: fc.string({ minLength: 1, maxLength: 12 }), epoch: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), counter: safe, timestampMs: safe }),
    { maxLength: 12 },
  )
  .map(normalize);
const one: VectorClock = [{ node: 'a', epoch: 7n, counter: 1, timestampMs: 5 }];

function reasonOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof MalformedContextError) return err.reason;
    throw err;
  }
  return 'accepted';
}

/** The unsigned format of earlier versions, as an attacker can still build it: header, payload, CRC-32. */
function unsigned(c: VectorClock): Buffer {
  const body = Buffer.concat([Buffer.from([0x51, 0x01]), storage.CausalContext.encode({ entries: clockToProto(c) }).finish()]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([body, crc]);
}

describe('signed client context', () => {
  it('encode → decode is the identity on canonical clocks, for the key it was issued for', () => {
    fc.assert(fc.property(clockArb, fc.uint8Array({ maxLength: 40 }), (c, key) => void expect(codec.decode(codec.encode(c, key), key)).toEqual(c)));
  });

  it('the empty clock encodes as empty bytes and empty bytes decode as the empty clock', () => {
    expect(codec.encode([], KEY).length).toBe(0);
    expect(codec.decode(new Uint8Array(0), KEY)).toEqual([]);
  });

  it('starts with 0x51 0x02 and the key id, and ends with a 16-byte tag', () => {
    const b = codec.encode(one, KEY);
    expect([...b.subarray(0, 5)]).toEqual([0x51, 0x02, 2, 0x6b, 0x31]);
    expect(CONTEXT_TAG_BYTES).toBe(16);
  });

  it('rejects random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 80 }), (b) => void expect(() => codec.decode(b, KEY)).toThrow(MalformedContextError)));
  });

  it('rejects every truncation and every single-bit flip of a valid context', () => {
    fc.assert(
      fc.property(clockArb.filter((c) => c.length > 0), (c) => {
        const good = codec.encode(c, KEY);
        for (let n = 1; n < good.length; n++) expect(() => codec.decode(good.subarray(0, n), KEY)).toThrow(MalformedContextError);
        for (let bit = 0; bit < good.length * 8; bit++) {
          const bad = Buffer.from(good);
          bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
          expect(() => codec.decode(bad, KEY)).toThrow(MalformedContextError);
        }
      }),
      { numRuns: 20 },
    );
  });

  it("refuses a context issued for another key: a node's counters are node-wide, so it would cover dots never read there", () => {
    const ctx = codec.encode(one, Buffer.from('cart:41'));
    expect(reasonOf(() => codec.decode(ctx, KEY))).toBe('bad-signature');
  });

  it('refuses what an attacker can build without the secret: the unsigned format, another secret under our key id, an unknown key id', () => {
    const forged: VectorClock = [{ node: 'node-1', epoch: 0n, counter: Number.MAX_SAFE_INTEGER, timestampMs: 1 }];
    expect(reasonOf(() => codec.decode(unsigned(forged), KEY))).toBe('unsigned');
    const attacker = new ContextCodec({ currentId: 'k1', keys: [{ id: 'k1', secret: secret(9) }] });
    expect(reasonOf(() => codec.decode(attacker.encode(forged, KEY), KEY))).toBe('bad-signature');
    const other = new ContextCodec({ currentId: 'zz', keys: [{ id: 'zz', secret: secret(1) }] });
    const err = (() => {
      try {
        codec.decode(other.encode(forged, KEY), KEY);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toMatchObject({ reason: 'unknown-key', keyId: 'zz' });
  });

  it('rotates: contexts signed with the previous key stay valid while it is in the set, and are refused once it is removed', () => {
    const before = new ContextCodec({ currentId: 'old', keys: [{ id: 'old', secret: secret(3) }] });
    const during = new ContextCodec({ currentId: 'new', keys: [{ id: 'new', secret: secret(4) }, { id: 'old', secret: secret(3) }] });
    const after = new ContextCodec({ currentId: 'new', keys: [{ id: 'new', secret: secret(4) }] });
    const held = before.encode(one, KEY);
    expect(during.decode(held, KEY)).toEqual(one);
    expect(during.currentKeyId).toBe('new');
    expect(after.decode(during.encode(one, KEY), KEY)).toEqual(one);
    expect(reasonOf(() => after.decode(held, KEY))).toBe('unknown-key');
  });

  it('names why it refused: truncated, bad header, unsigned, unknown key, bad signature', () => {
    const good = codec.encode(one, KEY);
    expect(reasonOf(() => codec.decode(good.subarray(0, 1), KEY))).toBe('truncated');
    expect(reasonOf(() => codec.decode(good.subarray(0, 10), KEY))).toBe('truncated');
    expect(reasonOf(() => codec.decode(Buffer.concat([Buffer.from([0x51, 0x03]), good.subarray(2)]), KEY))).toBe('bad-header');
    expect(reasonOf(() => codec.decode(Buffer.concat([Buffer.from([0x50]), good.subarray(1)]), KEY))).toBe('bad-header');
    expect(reasonOf(() => codec.decode(unsigned(one), KEY))).toBe('unsigned');
    expect(reasonOf(() => codec.decode(Buffer.concat([good.subarray(0, -1), Buffer.from([good.at(-1)! ^ 1])]), KEY))).toBe('bad-signature');
  });

  it('refuses a key set whose current key is not in it', () => {
    expect(() => new ContextCodec({ currentId: 'x', keys: [{ id: 'k1', secret: secret(1) }] })).toThrow(RangeError);
  });
});
