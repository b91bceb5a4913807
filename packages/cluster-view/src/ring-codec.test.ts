import { membership } from '@quorumkv/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedViewError } from './errors.js';
import { DEFAULT_STREAM_THROUGHPUT_BYTES_PER_S, ringFromWire, ringToWire, settingsFromWire, settingsToWire } from './ring-codec.js';

const stateArb = fc.constantFrom('joining' as const, 'normal' as const, 'leaving' as const, 'left' as const);

describe('ring codec', () => {
  it('a ring survives the wire exactly (encode, protobuf bytes, decode)', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 2 ** 40 }),
        fc.integer({ min: 1, max: 7 }),
        fc.uniqueArray(fc.record({ id: fc.stringMatching(/^[a-z0-9-]{1,12}$/), state: stateArb, zone: fc.option(fc.constantFrom('a', 'b')), removed: fc.boolean(), vnodes: fc.option(fc.integer({ min: 1, max: 512 })) }), { selector: (m) => m.id, maxLength: 8 }),
        (epoch, n, raw) => {
          const members = raw.map((m) => ({
            id: m.id,
            address: `10.0.0.1:${7000 + m.id.length}`,
            state: m.state,
            ...(m.zone !== null ? { zone: m.zone } : {}),
            ...(m.vnodes !== null ? { vnodes: m.vnodes } : {}),
            ...(m.removed ? { removed: true } : {}),
          }));
          const snapshot = { epoch, replicationFactor: n, vnodes: 64, members };
          const bytes = membership.Ring.encode(ringToWire(snapshot, 123)).finish();
          expect(ringFromWire(membership.Ring.decode(bytes))).toEqual(snapshot);
        },
      ),
    );
  });

  it('refuses a ring that breaks the contract, naming the field', () => {
    const good = ringToWire({ epoch: 1, replicationFactor: 3, vnodes: 8, members: [{ id: 'a', address: 'x:1', state: 'normal' }] }, 0);
    const cases: Array<[membership.Ring, string]> = [
      [{ ...good, replicationFactor: 0 }, 'ring.replication_factor'],
      [{ ...good, members: [...good.members, ...good.members] }, 'ring.members[1].id'],
      [{ ...good, members: [{ ...good.members[0]!, state: membership.RingState.RING_STATE_UNSPECIFIED }] }, 'ring.members[0].state'],
      [{ ...good, epoch: 2n ** 60n }, 'ring.epoch'],
    ];
    for (const [ring, field] of cases) {
      expect(() => ringFromWire(ring)).toThrow(MalformedViewError);
      try {
        ringFromWire(ring);
      } catch (err) {
        expect((err as MalformedViewError).field).toBe(field);
      }
    }
  });

  it('settings: an unset throughput reads as 24 MiB/s, a set one round-trips', () => {
    expect(settingsFromWire(undefined).streamThroughputBytesPerS).toBe(DEFAULT_STREAM_THROUGHPUT_BYTES_PER_S);
    expect(settingsFromWire({ streamThroughputBytesPerS: 0n }).streamThroughputBytesPerS).toBe(24 * 1024 * 1024);
    expect(settingsFromWire(settingsToWire({ streamThroughputBytesPerS: 1234 }))).toEqual({ streamThroughputBytesPerS: 1234 });
  });
});
