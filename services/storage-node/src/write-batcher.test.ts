import { describe, expect, it } from 'vitest';
import { WriteQueueFullError } from './errors.js';
import { WriteBatcher, type RecordPut } from './write-batcher.js';

/** A scheduler the test fires by hand, and a writer whose batches the test completes by hand. */
function harness(maxBatch = 512) {
  const scheduled: (() => void)[] = [];
  const batches: { puts: readonly RecordPut[]; done: () => void; fail: (err: Error) => void }[] = [];
  const batcher = new WriteBatcher(
    (puts) =>
      new Promise<void>((resolve, reject) => {
        batches.push({ puts, done: resolve, fail: reject });
      }),
    maxBatch,
    (fn) => scheduled.push(fn),
  );
  const tick = (): void => {
    for (const fn of scheduled.splice(0)) fn();
  };
  return { batcher, batches, tick };
}

const put = (k: string): RecordPut => ({ key: Buffer.from(k), value: Buffer.from(`v-${k}`) });
const keysOf = (puts: readonly RecordPut[]): string[] => puts.map((p) => p.key.toString());

describe('WriteBatcher', () => {
  it('writes the puts of one turn as one batch and resolves each once it is written', async () => {
    const { batcher, batches, tick } = harness();
    const acks = [batcher.put(put('a')), batcher.put(put('b')), batcher.put(put('c'))];
    expect(batches).toHaveLength(0);
    tick();
    expect(batches.map((b) => keysOf(b.puts))).toEqual([['a', 'b', 'c']]);
    batches[0]?.done();
    await Promise.all(acks);
    expect(batcher.counters).toEqual({ batches: 1, records: 3 });
  });

  it('gives the puts of one batch one shared promise, and a later batch another', () => {
    const { batcher, tick } = harness();
    const a = batcher.put(put('a'));
    expect(batcher.put(put('b'))).toBe(a);
    tick();
    expect(batcher.put(put('c'))).not.toBe(a);
  });

  it('groups puts that arrive while a batch is being written into the next batch', async () => {
    const { batcher, batches, tick } = harness();
    const first = batcher.put(put('a'));
    tick();
    const later = [batcher.put(put('b')), batcher.put(put('c'))];
    tick();
    expect(batches).toHaveLength(1);
    batches[0]?.done();
    await first;
    expect(batches.map((b) => keysOf(b.puts))).toEqual([['a'], ['b', 'c']]);
    batches[1]?.done();
    await Promise.all(later);
  });

  it('rejects every put of a failed batch and keeps writing later ones', async () => {
    const { batcher, batches, tick } = harness();
    const a = batcher.put(put('a'));
    const b = batcher.put(put('b'));
    tick();
    batches[0]?.fail(new Error('disk full'));
    await expect(a).rejects.toThrow('disk full');
    await expect(b).rejects.toThrow('disk full');
    const c = batcher.put(put('c'));
    tick();
    batches[1]?.done();
    await expect(c).resolves.toBeUndefined();
  });

  it('splits a group larger than maxBatch into several batches', async () => {
    const { batcher, batches, tick } = harness(2);
    const acks = ['a', 'b', 'c', 'd', 'e'].map((k) => batcher.put(put(k)));
    tick();
    batches[0]?.done();
    await acks[1];
    batches[1]?.done();
    await acks[3];
    batches[2]?.done();
    await Promise.all(acks);
    expect(batches.map((b) => keysOf(b.puts))).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('reports idle only once nothing is queued or in flight', async () => {
    const { batcher, batches, tick } = harness();
    await batcher.idle();
    const a = batcher.put(put('a'));
    let idle = false;
    const idlePromise = batcher.idle().then(() => (idle = true));
    tick();
    await Promise.resolve();
    expect(idle).toBe(false);
    batches[0]?.done();
    await a;
    await idlePromise;
    expect(idle).toBe(true);
  });

  it('runs work between batches: at once when none is written, else after the one in flight settles and before the next starts', async () => {
    const { batcher, batches, tick } = harness();
    const order: string[] = [];
    await batcher.between(() => order.push('idle'));
    void batcher.put(put('a'));
    tick();
    void batcher.put(put('b'));
    const between = batcher.between(() => order.push(`between: ${batches.length} batch(es) started`));
    expect(order).toEqual(['idle']);
    batches[0]?.done();
    await between;
    expect(order).toEqual(['idle', 'between: 1 batch(es) started']);
    expect(batches).toHaveLength(2);
  });
});

describe('WriteBatcher queue bound', () => {
  it('refuses a put at once with WriteQueueFullError when maxQueued records wait, and writes none of it', async () => {
    const scheduled: (() => void)[] = [];
    const written: string[] = [];
    let finish: () => void = () => undefined;
    const batcher = new WriteBatcher(
      (puts) => {
        written.push(...keysOf(puts));
        return new Promise<void>((resolve) => (finish = resolve));
      },
      2,
      (fn) => scheduled.push(fn),
      3,
    );
    const first = batcher.put(put('a'));
    for (const fn of scheduled.splice(0)) fn();
    // 'a' is being written; three more may wait, the fourth is refused.
    const queued = ['b', 'c', 'd'].map((k) => batcher.put(put(k)));
    const refused = await batcher.put(put('e')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WriteQueueFullError);
    expect(refused).toMatchObject({ queued: 3, limit: 3 });
    finish();
    await first;
    finish();
    await new Promise((r) => setImmediate(r));
    finish();
    await Promise.all(queued);
    expect(written).toEqual(['a', 'b', 'c', 'd']);
  });
});
