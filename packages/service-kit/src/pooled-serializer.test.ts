import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { storage } from '@quorumkv/proto';
import { framedSerializer, pooledSerializer } from './pooled-serializer.js';

const request = (id: number, value: Buffer): storage.ReplicaRequest => ({
  id,
  trace: {},
  timeoutMs: 100,
  ringEpoch: 0,
  deadlineMs: 0,
  op: { $case: 'coordinate', coordinate: { key: Buffer.from(`k${id}`), context: [], value, tombstone: false, requestId: Buffer.alloc(0) } },
});

describe('pooledSerializer', () => {
  it('gives the same bytes as the generated serializer for any sequence of batches, each buffer its own', () => {
    const serialize = pooledSerializer(storage.ReplicaRequestBatch, { requests: [] });
    fc.assert(
      fc.property(fc.array(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 8 }), { minLength: 1, maxLength: 6 }), (batches) => {
        const messages = batches.map((values) => ({ requests: values.map((v, i) => request(i + 1, Buffer.from(v))) }));
        const out = messages.map(serialize);
        out.forEach((bytes, i) => {
          expect(bytes.equals(Buffer.from(storage.ReplicaRequestBatch.encode(messages[i]!).finish()))).toBe(true);
        });
        // Buffers handed out earlier are not overwritten by later messages.
        if (out.length > 1) out[out.length - 1]!.fill(0xff);
        expect(storage.ReplicaRequestBatch.decode(out[0]!)).toEqual(storage.ReplicaRequestBatch.decode(storage.ReplicaRequestBatch.encode(messages[0]!).finish()));
      }),
      { numRuns: 50 },
    );
  });

  it('encodes correctly after a message whose encoding threw half-way', () => {
    const serialize = pooledSerializer(storage.ReplicaRequestBatch, { requests: [] });
    const bad = { requests: [request(1, Buffer.from('ok')), { ...request(2, Buffer.from('x')), id: -1 }] };
    expect(() => serialize(bad)).toThrow();
    const good = { requests: [request(3, Buffer.from('after'))] };
    expect(storage.ReplicaRequestBatch.decode(serialize(good))).toEqual(good);
  });
});

describe('framedSerializer', () => {
  it('writes the gRPC length prefix (flag 0, big-endian length) and the message in one buffer, for any sequence', () => {
    const serialize = framedSerializer(storage.ReplicaRequestBatch, { requests: [] });
    fc.assert(
      fc.property(fc.array(fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 6 }), { minLength: 1, maxLength: 6 }), (batches) => {
        for (const values of batches) {
          const message = { requests: values.map((v, i) => request(i + 1, Buffer.from(v))) };
          const framed = serialize(message);
          const plain = Buffer.from(storage.ReplicaRequestBatch.encode(message).finish());
          expect(framed[0]).toBe(0);
          expect(framed.readUInt32BE(1)).toBe(plain.length);
          expect(framed.subarray(5).equals(plain)).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('frames correctly after a message whose encoding threw half-way', () => {
    const serialize = framedSerializer(storage.ReplicaRequestBatch, { requests: [] });
    expect(() => serialize({ requests: [{ ...request(2, Buffer.from('x')), id: -1 }] })).toThrow();
    const good = { requests: [request(3, Buffer.from('after'))] };
    const framed = serialize(good);
    expect(framed.readUInt32BE(1)).toBe(framed.length - 5);
    expect(storage.ReplicaRequestBatch.decode(framed.subarray(5))).toEqual(good);
  });
});
