import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type LivenessClaim, type MemberState, overrides } from './member.js';

const states: readonly MemberState[] = ['alive', 'suspect', 'down', 'left'];
const inc = fc.integer({ min: 0, max: 50 });
const claim: fc.Arbitrary<LivenessClaim> = fc.record({ state: fc.constantFrom(...states), incarnation: inc });
const at = (state: MemberState, incarnation: number): LivenessClaim => ({ state, incarnation });

describe('overrides: the SWIM order of liveness claims', () => {
  it('alive@i refutes suspect@j exactly when i > j (only the member itself raises its incarnation)', () => {
    fc.assert(fc.property(inc, inc, (i, j) => overrides(at('alive', i), at('suspect', j)) === i > j));
  });

  it('suspect@j overrides alive@i exactly when j >= i', () => {
    fc.assert(fc.property(inc, inc, (i, j) => overrides(at('suspect', j), at('alive', i)) === j >= i));
  });

  it('down@j overrides alive@i and suspect@i exactly when j >= i, and alive@i undoes down@j only when i > j', () => {
    fc.assert(
      fc.property(inc, inc, (i, j) => {
        expect(overrides(at('down', j), at('alive', i))).toBe(j >= i);
        expect(overrides(at('down', j), at('suspect', i))).toBe(j >= i);
        expect(overrides(at('alive', i), at('down', j))).toBe(i > j);
      }),
    );
  });

  it('left@j overrides every other state at incarnation <= j, and only a higher incarnation overrides it', () => {
    fc.assert(
      fc.property(inc, inc, fc.constantFrom<MemberState>('alive', 'suspect', 'down'), (i, j, s) => {
        expect(overrides(at('left', j), at(s, i))).toBe(j >= i);
        expect(overrides(at(s, i), at('left', j))).toBe(i > j);
      }),
    );
  });

  it('is a strict total order: irreflexive, asymmetric, transitive, and any two different claims are ordered', () => {
    fc.assert(
      fc.property(claim, claim, claim, (a, b, c) => {
        expect(overrides(a, a)).toBe(false);
        if (overrides(a, b)) expect(overrides(b, a)).toBe(false);
        if (overrides(a, b) && overrides(b, c)) expect(overrides(a, c)).toBe(true);
        const same = a.state === b.state && a.incarnation === b.incarnation;
        expect(same || overrides(a, b) || overrides(b, a)).toBe(true);
      }),
    );
  });
});
