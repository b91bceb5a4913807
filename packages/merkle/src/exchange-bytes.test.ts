import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { describe, expect, it } from 'vitest';
import type { Digest } from './digest.js';
import { exchange } from './exchange.js';
import type { KeyDigest, PeerTree } from './peer.js';
import { MemoryReplica } from './testing/memory-replica.js';
import { GRPC_MESSAGE_PREFIX_BYTES, naiveComparisonBytes } from './wire-size.js';

const key = (s: string): Uint8Array => new TextEncoder().encode(s);
const dg = (n: number): Digest => new Uint8Array(16).fill(n);

/**
 * The messages `wire-size.ts` describes, encoded by @bufbuild/protobuf's writer as generated code
 * would (proto3: zero scalars and empty bytes left out), each with gRPC's 5-byte prefix.
 */
const framed = (w: BinaryWriter): number => w.finish().length + GRPC_MESSAGE_PREFIX_BYTES;
function scalar(w: BinaryWriter, field: number, v: number): BinaryWriter {
  return v === 0 ? w : w.tag(field, WireType.Varint).uint64(v);
}
function packedField(w: BinaryWriter, field: number, vs: readonly number[]): BinaryWriter {
  if (vs.length === 0) return w;
  w.tag(field, WireType.LengthDelimited).fork();
  for (const v of vs) w.uint32(v);
  return w.join();
}
function entries(w: BinaryWriter, es: readonly KeyDigest[]): BinaryWriter {
  for (const e of es) w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).bytes(e.key).tag(2, WireType.LengthDelimited).bytes(e.digest).join();
  return w;
}

/** A peer that adds up the real encoded size of every request and answer. */
function encodingCounter(peer: PeerTree): PeerTree & { bytes: () => number } {
  let total = 0;
  return {
    bytes: () => total,
    summary: async () => {
      const s = await peer.summary();
      total += framed(new BinaryWriter());
      const w = scalar(scalar(new BinaryWriter(), 1, s.depth), 2, s.keyCount);
      total += framed(w.tag(3, WireType.LengthDelimited).bytes(s.root));
      return s;
    },
    branches: async (depth, parents, bits) => {
      const hashes = await peer.branches(depth, parents, bits);
      total += framed(packedField(scalar(scalar(new BinaryWriter(), 1, depth), 2, bits), 3, parents));
      total += framed(hashes.length === 0 ? new BinaryWriter() : new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(hashes));
      return hashes;
    },
    segmentEntries: async (depth, segments) => {
      const es = await peer.segmentEntries(depth, segments);
      total += framed(packedField(scalar(new BinaryWriter(), 1, depth), 2, segments));
      total += framed(entries(new BinaryWriter(), es));
      return es;
    },
  };
}

function pair(keys: number, diverged: number, depth: number): [MemoryReplica, MemoryReplica] {
  const a = new MemoryReplica(depth);
  const b = new MemoryReplica(depth);
  for (let i = 0; i < keys; i++) {
    a.set(key(`user:${i}`), dg(1));
    b.set(key(`user:${i}`), i < diverged ? dg(2) : dg(1));
  }
  return [a, b];
}

describe('exchange byte accounting', () => {
  it('counts exactly the protobuf-encoded size of every request and answer, both replicas', async () => {
    const [a, b] = pair(3000, 17, 11);
    b.set(key('only-b'), dg(9));
    const ca = encodingCounter(a);
    const cb = encodingCounter(b);
    const r = await exchange(ca, cb, { pause: () => Promise.resolve(), stepBits: 3 });
    expect(r.divergent).toHaveLength(18);
    expect(r.bytes).toBe(ca.bytes() + cb.bytes());
    expect(r.bytes).toBe(r.requestBytes + r.responseBytes);
  });

  it('counts the naive comparison as every key and digest from both replicas', () => {
    const [a, b] = pair(100, 0, 4);
    const w = (es: readonly KeyDigest[]): number => framed(entries(new BinaryWriter(), es));
    expect(naiveComparisonBytes(a.entries(), b.entries())).toBe(2 * GRPC_MESSAGE_PREFIX_BYTES + w(a.entries()) + w(b.entries()));
  });

  it('moves far fewer bytes than the naive comparison when few keys differ, and more as more differ', async () => {
    const ratios: number[] = [];
    for (const diverged of [0, 5, 50, 500]) {
      const [a, b] = pair(5000, diverged, 12);
      const r = await exchange(a, b, { pause: () => Promise.resolve() });
      expect(r.divergent).toHaveLength(diverged);
      ratios.push(r.bytes / naiveComparisonBytes(a.entries(), b.entries()));
    }
    expect(ratios[0]).toBeLessThan(0.001);
    expect(ratios[1]).toBeLessThan(0.05);
    for (let i = 1; i < ratios.length; i++) expect(ratios[i]).toBeGreaterThan(ratios[i - 1] as number);
  });
});
