import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TurnBatcher } from './turn-batcher.js';

/** A scheduler the test runs by hand: the "end of the turn" is `runTurn()`. */
function manualTurns(): { schedule: (fn: () => void) => void; runTurn: () => void; pending: () => number } {
  let queued: (() => void)[] = [];
  return {
    schedule: (fn) => queued.push(fn),
    runTurn: () => {
      const now = queued;
      queued = [];
      for (const fn of now) fn();
    },
    pending: () => queued.length,
  };
}

describe('TurnBatcher', () => {
  it('sends everything pushed during one turn as one group, with one scheduled callback', () => {
    const turns = manualTurns();
    const groups: number[][] = [];
    const b = new TurnBatcher<number>({ flush: (items) => groups.push(items), schedule: turns.schedule });
    b.push(1);
    b.push(2);
    b.push(3);
    expect(turns.pending()).toBe(1);
    expect(groups).toEqual([]);
    turns.runTurn();
    expect(groups).toEqual([[1, 2, 3]]);
    b.push(4);
    turns.runTurn();
    expect(groups).toEqual([[1, 2, 3], [4]]);
  });

  it('flushes at once when the item cap or the byte cap is reached', () => {
    const turns = manualTurns();
    const groups: string[][] = [];
    const b = new TurnBatcher<string>({ flush: (items) => groups.push(items), schedule: turns.schedule, maxItems: 2, maxBytes: 100 });
    b.push('a');
    b.push('b');
    expect(groups).toEqual([['a', 'b']]);
    b.push('big', 100);
    expect(groups).toEqual([['a', 'b'], ['big']]);
    b.push('c', 10);
    turns.runTurn();
    expect(groups).toEqual([['a', 'b'], ['big'], ['c']]);
  });

  it('drops queued items on clear and never flushes an empty group', () => {
    const turns = manualTurns();
    const groups: number[][] = [];
    const b = new TurnBatcher<number>({ flush: (items) => groups.push(items), schedule: turns.schedule });
    b.push(1);
    expect(b.clear()).toEqual([1]);
    expect(b.size).toBe(0);
    turns.runTurn();
    b.flush();
    expect(groups).toEqual([]);
  });

  it('delivers every item exactly once and in order, whatever the caps and turn boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ push: fc.nat(50) }), fc.constant({ turn: true })), { maxLength: 200 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 120 }),
        (steps, maxItems, maxBytes) => {
          const turns = manualTurns();
          const out: number[] = [];
          let groupTooBig = false;
          const b = new TurnBatcher<number>({
            flush: (items) => {
              if (items.length === 0 || items.length > maxItems) groupTooBig = true;
              out.push(...items);
            },
            schedule: turns.schedule,
            maxItems,
            maxBytes,
          });
          const pushed: number[] = [];
          steps.forEach((s, i) => {
            if ('push' in s) {
              pushed.push(i);
              b.push(i, s.push);
            } else turns.runTurn();
          });
          turns.runTurn();
          expect(groupTooBig).toBe(false);
          expect(out).toEqual(pushed);
        },
      ),
    );
  });
});
