import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { claimOf, EMPTY_META, type MemberUpdate, overrides } from './member.js';
import { MemberTable } from './member-table.js';
import { seededRandom } from './random.js';

const SELF = { id: 'self', address: 'self:1', meta: EMPTY_META, incarnation: 3, payload: undefined };

function table(): MemberTable {
  return new MemberTable(SELF, seededRandom(1), () => 0);
}

const ids = fc.constantFrom('a', 'b', 'c');
const incarnation = fc.integer({ min: 0, max: 6 });
const livenessUpdate: fc.Arbitrary<MemberUpdate> = fc.oneof(
  fc.record({ kind: fc.constant('alive' as const), id: ids, incarnation, address: fc.constant('x:1'), meta: fc.constant(EMPTY_META) }),
  fc.record({ kind: fc.constant('suspect' as const), id: ids, incarnation, from: fc.constantFrom('p', 'q') }),
  fc.record({ kind: fc.constant('down' as const), id: ids, incarnation, from: fc.constantFrom('p', 'q') }),
  fc.record({ kind: fc.constant('left' as const), id: ids, incarnation }),
);

/** (state, incarnation) of every member but self, sorted by id. */
function view(t: MemberTable): string[] {
  return [...t.entries()]
    .filter((e) => e.id !== 'self')
    .map((e) => `${e.id}:${e.state}@${e.incarnation}`)
    .sort();
}

describe('MemberTable.apply', () => {
  it('members converge whatever order the claims arrive in (each keeps the greatest claim per member)', () => {
    fc.assert(
      fc.property(
        fc.array(livenessUpdate, { maxLength: 30 }).chain((updates) => fc.tuple(fc.constant(updates), fc.shuffledSubarray(updates, { minLength: updates.length }))),
        ([updates, shuffled]) => {
          // Every member starts known (alive@0), as after a join, so no claim is dropped as unknown.
          const seed = ['a', 'b', 'c'].map((id): MemberUpdate => ({ kind: 'alive', id, incarnation: 0, address: 'x:1', meta: EMPTY_META }));
          const one = table();
          const two = table();
          for (const u of [...seed, ...updates]) one.apply(u);
          for (const u of [...seed, ...shuffled]) two.apply(u);
          expect(view(one)).toEqual(view(two));
        },
      ),
    );
  });

  it('ends with the greatest claim about each member under the SWIM order', () => {
    fc.assert(
      fc.property(fc.array(livenessUpdate, { maxLength: 30 }), (updates) => {
        const t = table();
        for (const id of ['a', 'b', 'c']) t.apply({ kind: 'alive', id, incarnation: 0, address: 'x:1', meta: EMPTY_META });
        for (const u of updates) t.apply(u);
        for (const id of ['a', 'b', 'c']) {
          const e = t.get(id);
          expect(e).toBeDefined();
          for (const u of updates.filter((x) => x.id === id)) {
            const c = claimOf(u);
            if (c && e) expect(overrides(c, e)).toBe(false);
          }
        }
      }),
    );
  });

  it('adds a member only from an alive claim: suspect, down or left about a stranger is ignored', () => {
    const t = table();
    expect(t.apply({ kind: 'suspect', id: 'a', incarnation: 1, from: 'p' }).result).toBe('ignored');
    expect(t.apply({ kind: 'down', id: 'a', incarnation: 1, from: 'p' }).result).toBe('ignored');
    expect(t.apply({ kind: 'left', id: 'a', incarnation: 1 }).result).toBe('ignored');
    expect(t.get('a')).toBeUndefined();
    expect(t.apply({ kind: 'alive', id: 'a', incarnation: 0, address: 'a:1', meta: EMPTY_META })).toMatchObject({ result: 'applied', previous: undefined });
    expect(t.liveCount).toBe(2);
  });

  it('a suspicion of a member already suspect at that incarnation is a confirmation, not a change', () => {
    const t = table();
    t.apply({ kind: 'alive', id: 'a', incarnation: 2, address: 'a:1', meta: EMPTY_META });
    expect(t.apply({ kind: 'suspect', id: 'a', incarnation: 2, from: 'p' }).result).toBe('applied');
    expect(t.apply({ kind: 'suspect', id: 'a', incarnation: 2, from: 'q' }).result).toBe('confirm');
    expect(t.apply({ kind: 'suspect', id: 'a', incarnation: 1, from: 'q' }).result).toBe('ignored');
  });

  it('a claim about itself is refuted iff it is suspect/down/left at >= its incarnation, or alive above it or differing at it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('alive', 'suspect', 'down', 'left'),
        incarnation,
        fc.boolean(),
        (kind, inc, differs) => {
          const t = table();
          const update: MemberUpdate =
            kind === 'alive'
              ? { kind, id: 'self', incarnation: inc, address: differs ? 'elsewhere:1' : SELF.address, meta: EMPTY_META }
              : kind === 'left'
                ? { kind, id: 'self', incarnation: inc }
                : { kind, id: 'self', incarnation: inc, from: 'p' };
          const refute = kind === 'alive' ? inc > SELF.incarnation || (inc === SELF.incarnation && differs) : inc >= SELF.incarnation;
          expect(t.apply(update).result).toBe(refute ? 'refute' : 'ignored');
          // Whatever the claim, a member never records itself as anything but alive.
          expect(t.self.state).toBe('alive');
        },
      ),
    );
  });

  it('keeps the live count equal to the members alive or suspect', () => {
    fc.assert(
      fc.property(fc.array(livenessUpdate, { maxLength: 40 }), (updates) => {
        const t = table();
        for (const id of ['a', 'b', 'c']) t.apply({ kind: 'alive', id, incarnation: 0, address: 'x:1', meta: EMPTY_META });
        for (const u of updates) t.apply(u);
        const live = [...t.entries()].filter((e) => e.state === 'alive' || e.state === 'suspect').length;
        expect(t.liveCount).toBe(live);
      }),
    );
  });

  it('probes every live member once per round, and never itself or a member down or left', () => {
    const t = table();
    for (const id of ['a', 'b', 'c', 'd']) t.apply({ kind: 'alive', id, incarnation: 0, address: `${id}:1`, meta: EMPTY_META });
    t.apply({ kind: 'down', id: 'c', incarnation: 0, from: 'p' });
    t.apply({ kind: 'left', id: 'd', incarnation: 0 });
    const round = [t.nextProbeTarget(), t.nextProbeTarget()].map((e) => e?.id).sort();
    expect(round).toEqual(['a', 'b']);
    const next = [t.nextProbeTarget(), t.nextProbeTarget()].map((e) => e?.id).sort();
    expect(next).toEqual(['a', 'b']);
  });

  it('takes a payload only with a higher version', () => {
    const t = table();
    t.apply({ kind: 'alive', id: 'a', incarnation: 0, address: 'a:1', meta: EMPTY_META });
    const data = new Uint8Array([1]);
    expect(t.apply({ kind: 'payload', id: 'a', version: 2, data }).result).toBe('payload');
    expect(t.apply({ kind: 'payload', id: 'a', version: 2, data }).result).toBe('ignored');
    expect(t.apply({ kind: 'payload', id: 'a', version: 1, data }).result).toBe('ignored');
    expect(t.get('a')?.payload?.version).toBe(2);
  });
});
