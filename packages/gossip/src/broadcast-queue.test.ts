import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BroadcastQueue } from './broadcast-queue.js';
import { retransmitLimit } from './config.js';
import { type MemberUpdate, updateBytes } from './member.js';

const left = (id: string, incarnation = 0): MemberUpdate => ({ kind: 'left', id, incarnation });

describe('BroadcastQueue', () => {
  it('sends each update exactly 4 × ceil(log10(N + 1)) times, then finishes it once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 20 }), (n, count) => {
        const q = new BroadcastQueue(4);
        const sent = new Map<string, number>();
        const done = new Map<string, number>();
        for (let i = 0; i < count; i++) q.enqueue(`k${i}`, left(`m${i}`), () => done.set(`m${i}`, (done.get(`m${i}`) ?? 0) + 1));
        for (let round = 0; q.size > 0 && round < 10_000; round++) {
          for (const u of q.take(100, n)) sent.set(u.id, (sent.get(u.id) ?? 0) + 1);
        }
        const limit = retransmitLimit(4, n);
        for (let i = 0; i < count; i++) {
          expect(sent.get(`m${i}`)).toBe(limit);
          expect(done.get(`m${i}`)).toBe(1);
        }
      }),
    );
  });

  it('a newer update under the same key replaces the waiting one (which is finished), and starts its own count', () => {
    const q = new BroadcastQueue(1);
    let oldDone = 0;
    q.enqueue('s:a', left('a', 1), () => (oldDone += 1));
    q.enqueue('s:a', left('a', 2));
    expect(oldDone).toBe(1);
    expect(q.size).toBe(1);
    expect(q.take(1000, 10)).toEqual([left('a', 2)]);
  });

  it('packs the least-sent updates first, within the byte budget', () => {
    const q = new BroadcastQueue(4);
    const a = left('member-a');
    q.enqueue('a', a);
    q.enqueue('b', left('member-b'));
    expect(q.take(updateBytes(a), 100)).toEqual([a]); // 'a' now sent once, 'b' never
    q.enqueue('c', left('member-c'));
    const budget = 2 * updateBytes(a);
    const packed = q.take(budget, 100);
    expect(packed.map((u) => u.id)).toEqual(['member-b', 'member-c']);
    expect(packed.reduce((n, u) => n + updateBytes(u), 0)).toBeLessThanOrEqual(budget);
  });

  it('never exceeds the budget, whatever the updates', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 50 }), fc.integer({ min: 0, max: 400 }), (names, budget) => {
        const q = new BroadcastQueue(4);
        names.forEach((name, i) => q.enqueue(`${i}`, { kind: 'suspect', id: name, incarnation: i, from: 'p' }));
        const packed = q.take(budget, 100);
        expect(packed.reduce((n, u) => n + updateBytes(u), 0)).toBeLessThanOrEqual(budget);
      }),
    );
  });
});
