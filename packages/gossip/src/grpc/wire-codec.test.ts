import { gossip as wire } from '@quorumkv/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MemberMeta, MemberPayload, MemberRecord, MemberUpdate } from '../member.js';
import type { GossipPacket, PacketBody } from '../messages.js';
import { MalformedPacketError, packetFromWire, packetToWire } from './wire-codec.js';

const name = fc.string({ minLength: 1, maxLength: 12 });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const meta: fc.Arbitrary<MemberMeta> = fc.record({
  zone: fc.string({ maxLength: 8 }),
  role: fc.string({ maxLength: 8 }),
  tags: fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
});
const payload: fc.Arbitrary<MemberPayload> = fc.record({ version: u32, data: fc.uint8Array({ maxLength: 16 }) });
const update: fc.Arbitrary<MemberUpdate> = fc.oneof(
  fc.record({ kind: fc.constant('alive' as const), id: name, incarnation: u32, address: name, meta }),
  fc.record({ kind: fc.constant('suspect' as const), id: name, incarnation: u32, from: name }),
  fc.record({ kind: fc.constant('down' as const), id: name, incarnation: u32, from: name }),
  fc.record({ kind: fc.constant('left' as const), id: name, incarnation: u32 }),
  fc.record({ kind: fc.constant('payload' as const), id: name, version: u32, data: fc.uint8Array({ maxLength: 16 }) }),
);
const record: fc.Arbitrary<MemberRecord> = fc.record({
  id: name,
  address: name,
  meta,
  incarnation: u32,
  state: fc.constantFrom('alive', 'suspect', 'down', 'left'),
  payload: fc.option(payload, { nil: undefined }),
});
const body: fc.Arbitrary<PacketBody | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.record({ kind: fc.constant('ping' as const), seq: u32, target: name }),
  fc.record({ kind: fc.constant('ping-req' as const), seq: u32, target: name, targetAddress: name, timeoutMs: u32 }),
  fc.record({ kind: fc.constant('ack' as const), seq: u32 }),
  fc.record({ kind: fc.constant('nack' as const), seq: u32 }),
  fc.record({ kind: fc.constant('push-pull' as const), seq: u32, join: fc.boolean(), reply: fc.boolean(), members: fc.array(record, { maxLength: 4 }) }),
);
const packet: fc.Arbitrary<GossipPacket> = fc.record({ from: name, fromAddress: name, body, updates: fc.array(update, { maxLength: 5 }) });

/** The value with byte arrays as plain number arrays (the wire gives Buffers back) and undefined fields dropped. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

describe('gossip wire codec', () => {
  it('a packet survives packetToWire → protobuf bytes → packetFromWire unchanged', () => {
    fc.assert(
      fc.property(packet, (p) => {
        const bytes = wire.SendRequest.encode(packetToWire(p)).finish();
        expect(plain(packetFromWire(wire.SendRequest.decode(bytes)))).toEqual(plain(p));
      }),
    );
  });

  it('refuses a packet without a sender, or with an empty update, naming the field', () => {
    expect(() => packetFromWire({ from: '', fromAddress: 'a:1', body: undefined, updates: [] })).toThrow(new MalformedPacketError('from'));
    expect(() => packetFromWire({ from: 'a', fromAddress: 'a:1', body: undefined, updates: [{ update: undefined }] })).toThrow(
      new MalformedPacketError('updates[].update'),
    );
    const badState: wire.SendRequest = {
      from: 'a',
      fromAddress: 'a:1',
      body: { $case: 'pushPull', pushPull: { seq: 1, join: false, reply: false, members: [{ id: 'b', address: 'b:1', incarnation: 0, state: 0 }] } },
      updates: [],
    };
    expect(() => packetFromWire(badState)).toThrow(new MalformedPacketError('members[].state'));
  });
});
