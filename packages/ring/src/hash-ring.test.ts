import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DuplicateNodeError } from './errors.js';
import { HashRing } from './hash-ring.js';
import { lowerBound, sha1Position } from './position.js';

const idsArb = (min: number, max: number): fc.Arbitrary<string[]> =>
  fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: min, maxLength: max });

function ringOf(ids: readonly string[], vnodes = 32, zones?: readonly string[]): HashRing {
  const r = new HashRing({ vnodes });
  ids.forEach((id, i) => r.addNode(id, zones === undefined ? {} : { zone: zones[i % zones.length] }));
  return r;
}

/** Oracle: walk the ring's vnode positions one by one, collecting owners not seen yet. */
function walkDistinct(r: HashRing, position: number, n: number, skip: (id: string) => boolean = () => false): string[] {
  const b = r.boundaries();
  const out: string[] = [];
  const start = lowerBound(b, position);
  for (let k = 0; k < b.length && out.length < n; k++) {
    const id = r.ownerAt(b[(start + k) % b.length]!)!;
    if (!out.includes(id) && !skip(id)) out.push(id);
  }
  return out;
}

describe('HashRing basics', () => {
  it('an empty ring has no owner, empty preference lists and no shares', () => {
    const r = new HashRing();
    expect(r.owner('k')).toBeUndefined();
    expect(r.preferenceList('k', 3)).toEqual([]);
    expect(r.shares().size).toBe(0);
    expect(r.size).toBe(0);
  });

  it('refuses a duplicate node id with DuplicateNodeError naming it', () => {
    const r = ringOf(['a']);
    let caught: unknown;
    try {
      r.addNode('a');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DuplicateNodeError);
    expect((caught as DuplicateNodeError).nodeId).toBe('a');
  });

  it('tracks membership: has, nodes (sorted), size; removing an unknown node changes nothing', () => {
    const r = ringOf(['b', 'a', 'c']);
    expect(r.nodes()).toEqual(['a', 'b', 'c']);
    expect(r.removeNode('b')).toBe(true);
    expect(r.removeNode('zz')).toBe(false);
    expect([r.has('a'), r.has('b'), r.size]).toEqual([true, false, 2]);
  });

  it('refuses a vnode count that is not a positive integer', () => {
    expect(() => new HashRing({ vnodes: 0 })).toThrow(RangeError);
    expect(() => new HashRing().addNode('a', { vnodes: 2.5 })).toThrow(RangeError);
  });

  it('a key exactly at a vnode position belongs to that vnode; one past it, to the next', () => {
    const table: Record<string, number> = { 'a#0': 100, 'b#0': 200, k100: 100, k101: 101, k201: 201 };
    const r = new HashRing({ vnodes: 1, hash: (k) => table[String(k)] ?? 0 });
    r.addNode('a');
    r.addNode('b');
    expect([r.owner('k100'), r.owner('k101'), r.owner('k201')]).toEqual(['a', 'b', 'a']);
  });

  it('the ring does not depend on the order nodes were added in', () => {
    fc.assert(
      fc.property(idsArb(1, 8), (ids) => {
        const x = ringOf(ids);
        const y = ringOf([...ids].reverse());
        expect(y.boundaries()).toEqual(x.boundaries());
        for (const p of x.boundaries()) expect(y.ownerAt(p)).toBe(x.ownerAt(p));
      }),
      { numRuns: 30 },
    );
  });

  it('owner(key) is the first entry of its preference list and the owner of its position', () => {
    fc.assert(
      fc.property(idsArb(1, 8), fc.string(), (ids, key) => {
        const r = ringOf(ids);
        expect(r.owner(key)).toBe(r.ownerAt(sha1Position(key)));
        expect(r.preferenceList(key, 3)[0]).toBe(r.owner(key));
      }),
      { numRuns: 50 },
    );
  });
});

describe('preference lists', () => {
  it('are the first n distinct physical nodes clockwise from the key', () => {
    fc.assert(
      fc.property(idsArb(1, 8), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 9 }), fc.string(), (ids, vnodes, n, key) => {
        const r = ringOf(ids, vnodes);
        const list = r.preferenceList(key, n);
        expect(list).toEqual(walkDistinct(r, sha1Position(key), n));
        expect(new Set(list).size).toBe(Math.min(n, ids.length));
      }),
      { numRuns: 200 },
    );
  });

  it('skipping down nodes gives exactly the list of the ring without them (the next healthy nodes stand in)', () => {
    fc.assert(
      fc.property(idsArb(1, 8), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), fc.option(fc.constantFrom(['z1'], ['z1', 'z2'], ['z1', 'z2', 'z3'])), fc.string(), (ids, downFlags, zones, key) => {
        const down = new Set(ids.filter((_, i) => downFlags[i]));
        const r = ringOf(ids, 16, zones ?? undefined);
        const healthy = ringOf(ids, 16, zones ?? undefined);
        for (const id of down) healthy.removeNode(id);
        const list = r.preferenceList(key, 3, { skip: (id) => down.has(id) });
        expect(list).toEqual(healthy.preferenceList(key, 3));
        expect(list.some((id) => down.has(id))).toBe(false);
        expect(list.length).toBe(Math.min(3, ids.length - down.size));
      }),
      { numRuns: 200 },
    );
  });

  it('with zones, span as many zones as exist, first picking new zones in ring order, then filling with distinct nodes', () => {
    fc.assert(
      fc.property(idsArb(1, 10), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.string(), (ids, zoneCount, n, key) => {
        const zones = Array.from({ length: zoneCount }, (_, i) => `z${i}`);
        const r = ringOf(ids, 16, zones);
        const zoneOf = (id: string): string => r.zoneOfNode(id)!;
        const list = r.preferenceList(key, n);
        const present = new Set(ids.map(zoneOf));
        expect(new Set(list).size).toBe(Math.min(n, ids.length));
        expect(new Set(list.map(zoneOf)).size).toBe(Math.min(n, present.size));
        // The distinct-zone prefix is the ring walk's first node of each zone.
        const walk = walkDistinct(r, sha1Position(key), ids.length);
        const firstPerZone = walk.filter((id, i) => walk.findIndex((o) => zoneOf(o) === zoneOf(id)) === i);
        expect(list.slice(0, Math.min(n, present.size))).toEqual(firstPerZone.slice(0, n));
      }),
      { numRuns: 200 },
    );
  });
});

describe('shares', () => {
  it('sum to 1 and match the fraction of sampled keys each node owns', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => sha1Position(`key-${i}`));
    fc.assert(
      fc.property(idsArb(1, 8), fc.integer({ min: 1, max: 64 }), (ids, vnodes) => {
        const r = ringOf(ids, vnodes);
        const shares = r.shares();
        const sum = [...shares.values()].reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(1, 9);
        const counts = new Map<string, number>();
        for (const p of keys) counts.set(r.ownerAt(p)!, (counts.get(r.ownerAt(p)!) ?? 0) + 1);
        for (const id of ids) expect(Math.abs((counts.get(id) ?? 0) / keys.length - shares.get(id)!)).toBeLessThan(0.015);
      }),
      { numRuns: 20 },
    );
  });

  it('a node with twice the vnodes owns about twice the share', () => {
    const r = new HashRing({ vnodes: 256 });
    r.addNode('small');
    r.addNode('big', { vnodes: 512 });
    const s = r.shares();
    expect(s.get('big')! / s.get('small')!).toBeGreaterThan(1.6);
    expect(s.get('big')! / s.get('small')!).toBeLessThan(2.5);
  });
});
