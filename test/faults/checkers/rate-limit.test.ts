import { describe, expect, it } from 'vitest';
import type { LimitCheckOp } from '../history.js';
import { checkRateLimit } from './rate-limit.js';

const rules = [{ descriptorKey: 'per_second', limit: 3, windowMs: 1_000 }];
/** An answer to a call made at `at` that took `took` ms, with the owner's time to reset. */
const op = (at: number, took: number, result: LimitCheckOp['result'], resetMs?: number): LimitCheckOp => ({
  kind: 'limit',
  client: 0,
  key: 'per_second:k',
  rule: 'per_second',
  replica: 'rl-1',
  invokeMs: at,
  completeMs: at + took,
  result,
  ...(resetMs === undefined ? {} : { resetMs }),
});

describe('checkRateLimit', () => {
  it('accepts a window that admitted exactly the limit', () => {
    // Window ends at 1000: decisions at 100, 400, 700 report 900, 600, 300 ms to the reset.
    const r = checkRateLimit([op(100, 5, 'admitted', 900), op(400, 5, 'admitted', 600), op(700, 5, 'admitted', 300), op(800, 5, 'over', 200)], rules);
    expect(r.keys).toEqual([{ key: 'per_second:k', limit: 3, maxAdmitted: 3, windowEndMs: 1000, changes: 0, allowed: 3 }]);
    expect(r.violations).toEqual([]);
  });

  it('flags a window that admitted one more than the limit', () => {
    const r = checkRateLimit([op(100, 5, 'admitted', 900), op(400, 5, 'admitted', 600), op(700, 5, 'admitted', 300), op(800, 5, 'admitted', 200)], rules);
    expect(r.violations.map((v) => v.maxAdmitted)).toEqual([4]);
  });

  it('keeps the admissions of consecutive windows apart, however slow the calls up to half a window', () => {
    const first = [op(100, 450, 'admitted', 500), op(200, 450, 'admitted', 400), op(300, 450, 'admitted', 300)];
    const second = [1100, 1200, 1300].map((at) => op(at, 450, 'admitted', 1000 - (at - 1000) - 440));
    const r = checkRateLimit([...first, ...second], rules);
    expect(r.keys[0]!.maxAdmitted).toBe(3);
    expect(r.unplaced).toBe(0);
  });

  it('leaves fail-open answers out of the bound and counts them apart', () => {
    const r = checkRateLimit([op(100, 5, 'admitted', 900), op(200, 5, 'fail-open'), op(300, 5, 'fail-open'), op(400, 5, 'fail-open'), op(500, 5, 'fail-open')], rules);
    expect(r.failOpen).toBe(4);
    expect(r.violations).toEqual([]);
  });

  it('counts a decision that took half a window or more as unplaced', () => {
    const r = checkRateLimit([op(100, 600, 'admitted', 300)], rules);
    expect(r.unplaced).toBe(1);
  });

  it('allows exactly one more limit in a window where the key\'s owner lost its counts (killed -9), and fails one beyond it', () => {
    // Owner killed at 450 ms: 3 admitted before, 3 more by the restarted owner in the same window.
    const six = [100, 200, 300, 600, 700, 800].map((at) => op(at, 5, 'admitted', 1000 - at));
    const ok = checkRateLimit(six, rules, new Map([['per_second:k', [450]]]));
    expect(ok.violations).toEqual([]);
    expect(ok.keys[0]).toMatchObject({ maxAdmitted: 6, changes: 1, allowed: 6 });
    const seven = checkRateLimit([...six, op(900, 5, 'admitted', 100)], rules, new Map([['per_second:k', [450]]]));
    expect(seven.violations.map((v) => [v.maxAdmitted, v.allowed])).toEqual([[7, 6]]);
  });

  it("gives nothing extra for an owner change outside the window, or another key's", () => {
    const six = [100, 200, 300, 600, 700, 800].map((at) => op(at, 5, 'admitted', 1000 - at));
    expect(checkRateLimit(six, rules, new Map([['per_second:k', [2_500]]])).violations.map((v) => v.maxAdmitted)).toEqual([6]);
    expect(checkRateLimit(six, rules, new Map([['per_second:other', [450]]])).violations.map((v) => v.maxAdmitted)).toEqual([6]);
  });
});
