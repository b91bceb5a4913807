import { createLogger } from '@quorumkv/service-kit';
import { describe, expect, it } from 'vitest';
import type { ReplicaAddress } from './config.js';
import type { PeerForwarder } from './peer-forwarder.js';
import { ReplicaSet } from './replica-set.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const THREE: ReplicaAddress[] = [
  { id: 'rl-a', address: '127.0.0.1:1' },
  { id: 'rl-b', address: '127.0.0.1:2' },
  { id: 'rl-c', address: '127.0.0.1:3' },
];

function set(selfId: string, clock: { now: number }, closed: string[] = []): ReplicaSet {
  const s = new ReplicaSet({
    selfId,
    forwardTimeoutMs: 100,
    logger,
    failover: true,
    holdMs: 5_000,
    now: () => clock.now,
    forwarder: (peer) => ({ close: () => closed.push(peer.id) }) as unknown as PeerForwarder,
  });
  return s;
}

const keys = Array.from({ length: 2_000 }, (_, i) => `["quorumkv","caller","c${i}"]`);

describe('ReplicaSet', () => {
  it('an owner passed over hands exactly its keys to the replica that owns them once it leaves the ring', () => {
    const clock = { now: 0 };
    const three = set('rl-a', clock);
    three.setReplicas(THREE);
    const two = set('rl-a', clock);
    two.setReplicas(THREE.filter((r) => r.id !== 'rl-b'));
    const before = keys.map((k) => three.owner(k));
    three.passOver('rl-b');
    keys.forEach((k, i) => {
      const now = three.owner(k);
      if (before[i] === 'rl-b') expect(now).toBe(two.owner(k));
      else expect(now).toBe(before[i]);
    });
    expect(before.filter((o) => o === 'rl-b').length).toBeGreaterThan(400);
  });

  it('tries a passed-over owner again after holdMs, and at once when gossip restores it', () => {
    const clock = { now: 0 };
    const s = set('rl-a', clock);
    s.setReplicas(THREE);
    const key = keys.find((k) => s.owner(k) === 'rl-c')!;
    s.passOver('rl-c');
    expect(s.owner(key)).not.toBe('rl-c');
    clock.now = 5_001;
    expect(s.owner(key)).toBe('rl-c');
    s.passOver('rl-c');
    s.restore('rl-c');
    expect(s.owner(key)).toBe('rl-c');
  });

  it('never passes itself over; standalone owns every key', () => {
    const clock = { now: 0 };
    const s = set('rl-a', clock);
    s.setReplicas(THREE);
    s.passOver('rl-a');
    expect(new Set(keys.map((k) => s.owner(k)))).toEqual(new Set(['rl-a', 'rl-b', 'rl-c']));
    const solo = set('solo', clock);
    solo.setReplicas([]);
    expect(solo.owner('x')).toBe('solo');
    expect(solo.replicas()).toEqual(['solo']);
  });

  it('opens a forwarder per other replica and closes the ones that left; every replica agrees on owners', () => {
    const clock = { now: 0 };
    const closed: string[] = [];
    const a = set('rl-a', clock, closed);
    expect(a.setReplicas(THREE)).toBe(true);
    expect(a.setReplicas([...THREE].reverse())).toBe(false);
    expect([a.peer('rl-b'), a.peer('rl-c'), a.peer('rl-a')].map((p) => p !== undefined)).toEqual([true, true, false]);
    a.setReplicas(THREE.slice(0, 2));
    expect(closed).toEqual(['rl-c']);
    expect(a.replicas()).toEqual(['rl-a', 'rl-b']);
    const b = set('rl-b', clock);
    b.setReplicas(THREE.slice(0, 2));
    for (const k of keys.slice(0, 200)) expect(a.owner(k)).toBe(b.owner(k));
  });
});
