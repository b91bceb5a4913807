import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RingView, inRange, keyPosition, type RingMember, type RingSnapshot } from './ring-view.js';

const VNODES = 16;

function snapshot(members: RingMember[], n = 3, epoch = 1): RingSnapshot {
  return { epoch, replicationFactor: n, vnodes: VNODES, members };
}

function normal(...ids: string[]): RingMember[] {
  return ids.map((id) => ({ id, address: `${id}:1`, state: 'normal' as const }));
}

const keys = Array.from({ length: 2_000 }, (_, i) => `key-${i}`);

/** The nodes that hold a key once transfers ran, given which nodes held it before. */
function holdersAfter(view: RingView, key: string, heldBefore: ReadonlySet<string>): Set<string> {
  const pos = keyPosition(key);
  const out = new Set<string>();
  for (const id of view.futureReplicas(key)) if (heldBefore.has(id)) out.add(id);
  for (const t of view.transfers()) {
    if (inRange(pos, t) && t.sources.some((s) => heldBefore.has(s))) out.add(t.to);
  }
  return out;
}

describe('RingView', () => {
  it('with every member NORMAL, reads and writes go to the same N replicas and nothing moves', () => {
    const view = new RingView(snapshot(normal('a', 'b', 'c', 'd')));
    expect(view.changesPending).toBe(false);
    expect(view.transfers()).toEqual([]);
    for (const k of keys.slice(0, 100)) {
      expect(view.writeTargets(k)).toEqual({ replicas: view.readReplicas(k), pending: [] });
      expect(view.readReplicas(k)).toHaveLength(3);
    }
  });

  it('a node joining 3 -> 4 receives exactly the keys it will replicate, each from the one replica it replaces', () => {
    const view = new RingView(snapshot([...normal('a', 'b', 'c'), { id: 'd', address: 'd:1', state: 'joining' }]));
    const transfers = view.transfers();
    expect(transfers.every((t) => t.to === 'd' && t.sources.length === 1)).toBe(true);
    let gained = 0;
    for (const k of keys) {
      const pos = keyPosition(k);
      const covering = transfers.filter((t) => inRange(pos, t));
      const willHold = view.futureReplicas(k).includes('d');
      expect(covering.length).toBe(willHold ? 1 : 0);
      if (willHold) {
        gained++;
        // Reads stay on the current replicas; the joining node takes writes as a pending target.
        expect(view.readReplicas(k)).not.toContain('d');
        expect(view.writeTargets(k).pending).toEqual(['d']);
        // Its source is the replica that drops out, and that replica releases the key.
        const source = covering[0]!.sources[0]!;
        expect(view.futureReplicas(k)).not.toContain(source);
        expect(view.releases(source).some((r) => inRange(pos, r))).toBe(true);
      }
    }
    // With N = 3 of 4 nodes, the new node replicates about three quarters of the keys.
    expect(gained / keys.length).toBeGreaterThan(0.6);
    expect(gained / keys.length).toBeLessThan(0.9);
  });

  it('a removed (dead) node is rebuilt from every surviving replica, never streamed from', () => {
    const members: RingMember[] = [...normal('a', 'b', 'c', 'd'), { id: 'e', address: 'e:1', state: 'leaving', removed: true }];
    const view = new RingView(snapshot(members));
    for (const t of view.transfers()) {
      expect(t.sources).not.toContain('e');
      expect(t.sources.length).toBeGreaterThanOrEqual(1);
    }
    expect(view.transfers().length).toBeGreaterThan(0);
  });

  it('leaves no key held by fewer than W future replicas: any W + P acknowledgements survive the move (property)', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const change = fc.record({
      size: fc.integer({ min: 3, max: 5 }),
      action: fc.constantFrom('join', 'leave', 'remove', 'join+leave'),
      n: fc.integer({ min: 1, max: 3 }),
      key: fc.integer({ min: 0, max: keys.length - 1 }),
      ackMask: fc.integer({ min: 0, max: 63 }),
    });
    fc.assert(
      fc.property(change, ({ size, action, n, key, ackMask }) => {
        const base = normal(...ids.slice(0, size));
        const members: RingMember[] = base.map((m, i) => {
          if ((action === 'leave' || action === 'join+leave') && i === 0) return { ...m, state: 'leaving' };
          if (action === 'remove' && i === 0) return { ...m, state: 'leaving', removed: true };
          return m;
        });
        if (action === 'join' || action === 'join+leave') members.push({ id: 'z', address: 'z:1', state: 'joining' });
        const view = new RingView(snapshot(members, Math.min(n, size - 1)));
        const k = keys[key]!;
        const { replicas, pending } = view.writeTargets(k);
        const targets = [...replicas, ...pending];
        const w = Math.floor(view.replicationFactor / 2) + 1;
        const acked = new Set(targets.filter((_, i) => (ackMask >> i) & 1));
        if (acked.size < w + pending.length) return;
        // A removed node's copy is gone: only what others hold counts.
        for (const m of members) if (m.removed) acked.delete(m.id);
        const after = holdersAfter(view, k, acked);
        expect(after.size).toBeGreaterThanOrEqual(Math.min(w, view.futureReplicas(k).length));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a zone-aware future: a joining node in a new zone is placed like any NORMAL one', () => {
    const members: RingMember[] = [
      { id: 'a', address: 'a:1', zone: 'z1', state: 'normal' },
      { id: 'b', address: 'b:1', zone: 'z1', state: 'normal' },
      { id: 'c', address: 'c:1', zone: 'z2', state: 'normal' },
      { id: 'd', address: 'd:1', zone: 'z3', state: 'joining' },
    ];
    const view = new RingView(snapshot(members));
    for (const k of keys.slice(0, 200)) {
      const future = view.futureReplicas(k);
      expect(new Set(future.map((id) => view.member(id)!.zone)).size).toBe(3);
    }
  });
});
