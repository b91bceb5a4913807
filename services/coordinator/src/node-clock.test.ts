import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NodeClock } from './node-clock.js';

describe('NodeClock', () => {
  it('never places a deadline later in the node clock than the real moment, for any offset and any delays', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -86_400_000, max: 86_400_000 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 3_000 }), delay: fc.integer({ min: 0, max: 5_000 }) }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 10_000 }),
        (offset, batches, later) => {
          const clock = new NodeClock(2_000);
          let t = 1_700_000_000_000;
          for (const { gap, delay } of batches) {
            t += gap;
            // The node stamps the batch at coordinator time t; the coordinator reads it `delay` later.
            clock.sample(t + offset, t + delay);
          }
          const at = t + later;
          return clock.toNodeTime(at) <= at + offset;
        },
      ),
    );
  });

  it('is exact to the fastest recent one-way delay', () => {
    const clock = new NodeClock();
    const t = 1_700_000_000_000;
    const offset = -3_600_000;
    clock.sample(t + offset, t + 40);
    clock.sample(t + 100 + offset, t + 101);
    clock.sample(t + 200 + offset, t + 230);
    expect(t + 500 + offset - clock.toNodeTime(t + 500)).toBe(1);
  });

  it('follows a node clock stepped back once the old bound is older than the window', () => {
    const clock = new NodeClock(2_000);
    clock.sample(1_000_000, 1_000_000);
    // The node's clock steps back 10 s: the old bound is now 10 s too late.
    clock.sample(990_500, 1_000_500);
    expect(clock.toNodeTime(1_001_000)).toBe(1_001_000);
    clock.sample(992_100, 1_002_100);
    expect(clock.toNodeTime(1_003_000)).toBe(993_000);
  });

  it('has no estimate (0) until the node stamped a batch, and ignores unstamped ones', () => {
    const clock = new NodeClock();
    clock.sample(0, 5_000);
    expect(clock.toNodeTime(6_000)).toBe(0);
  });
});
