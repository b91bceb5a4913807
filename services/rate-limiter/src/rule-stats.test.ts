import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyOutcome, RuleStats, type RuleCounters } from './rule-stats.js';

const zero = (): RuleCounters => ({ totalHits: 0, overLimit: 0, nearLimit: 0, withinLimit: 0, shadowMode: 0 });

describe('rule stats', () => {
  it('count near_limit only for admitted hits past 80% of the limit, as Envoy does', () => {
    const c = zero();
    // limit 10, threshold 8: hits 1..10 admitted one at a time; hits 9 and 10 are near the limit.
    for (let used = 1; used <= 10; used++) applyOutcome(c, { hits: 1, allowed: true, limit: 10, remaining: 10 - used, shadowMode: false });
    expect(c).toEqual({ totalHits: 10, overLimit: 0, nearLimit: 2, withinLimit: 10, shadowMode: 0 });
    // A refused request of 5 hits: our limiters admit all or nothing, so all 5 are over.
    applyOutcome(c, { hits: 5, allowed: false, limit: 10, remaining: 0, shadowMode: false });
    expect(c.overLimit).toBe(5);
  });

  it('count a request that crosses the threshold only for the part past it', () => {
    const c = zero();
    applyOutcome(c, { hits: 5, allowed: true, limit: 10, remaining: 1, shadowMode: false }); // 4 → 9 used
    expect(c.nearLimit).toBe(1);
  });

  it('count refused hits of a shadow-mode rule as over_limit and shadow_mode', () => {
    const c = zero();
    applyOutcome(c, { hits: 2, allowed: false, limit: 1, remaining: 0, shadowMode: true });
    expect(c).toMatchObject({ totalHits: 2, overLimit: 2, shadowMode: 2, withinLimit: 0 });
  });

  it('always keep total = within + over and near <= within (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ hits: fc.integer({ min: 0, max: 50 }), allowed: fc.boolean(), limit: fc.integer({ min: 0, max: 100 }), shadowMode: fc.boolean() })),
        (outcomes) => {
          const c = zero();
          for (const o of outcomes) {
            const remaining = o.allowed ? Math.max(0, o.limit - o.hits) : 0;
            applyOutcome(c, { ...o, limit: Math.max(o.limit, o.allowed ? o.hits : 0), remaining });
          }
          return c.totalHits === c.withinLimit + c.overLimit && c.nearLimit <= c.withinLimit && c.shadowMode <= c.overLimit;
        },
      ),
    );
  });

  it('keep detailed counters apart and bounded', () => {
    const s = new RuleStats(2);
    const o = { hits: 1, allowed: true, limit: 10, remaining: 9, shadowMode: false };
    s.record('r', o, 'k1');
    s.record('r', o, 'k2');
    s.record('r', o, 'k3');
    s.record(undefined, o, 'k1');
    const snap = s.snapshot();
    expect(snap.rules.get('r')?.totalHits).toBe(3);
    expect([...snap.detailed.keys()]).toEqual(['k1', 'k2']);
    expect(snap.detailed.get('k1')?.totalHits).toBe(2);
    expect(s.get('never').totalHits).toBe(0);
  });
});
