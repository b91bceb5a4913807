import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyBusyError } from './errors.js';
import { KeyedMutex } from './key-lock.js';

/** Lets other queued callbacks run, as an awaited disk read would. */
const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('KeyedMutex', () => {
  it('never loses an update when concurrent read-modify-writes of one key each yield between read and write', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 30 }), fc.array(fc.nat(3), { minLength: 1, maxLength: 30 }), async (n, pauses) => {
        const mutex = new KeyedMutex();
        let stored = 0;
        await Promise.all(
          Array.from({ length: n }, (_, i) =>
            mutex.run('k', async () => {
              const read = stored;
              for (let p = 0; p < (pauses[i % pauses.length] ?? 0); p++) await yieldTurn();
              stored = read + 1;
            }),
          ),
        );
        expect(stored).toBe(n);
        expect(mutex.lockedKeys).toBe(0);
      }),
      { numRuns: 30 },
    );
  });

  it('runs an uncontended holder at once, in the caller\'s turn, and a contended one only after the release', async () => {
    const mutex = new KeyedMutex();
    let release: () => void = () => undefined;
    let firstRan = false;
    const first = mutex.run('k', () => {
      firstRan = true;
      return new Promise<void>((resolve) => (release = resolve));
    });
    expect(firstRan).toBe(true);
    let secondRan = false;
    const second = mutex.run('k', () => {
      secondRan = true;
      return Promise.resolve();
    });
    await yieldTurn();
    expect(secondRan).toBe(false);
    release();
    await Promise.all([first, second]);
    expect(secondRan).toBe(true);
    expect(mutex.lockedKeys).toBe(0);
  });

  it('releases the key when the holder throws synchronously', async () => {
    const mutex = new KeyedMutex();
    await expect(
      mutex.run('k', () => {
        throw new Error('sync boom');
      }),
    ).rejects.toThrow('sync boom');
    await expect(mutex.run('k', () => Promise.resolve(1))).resolves.toBe(1);
    expect(mutex.lockedKeys).toBe(0);
  });

  it('lets holders of different keys run at the same time', async () => {
    const mutex = new KeyedMutex();
    let releaseA: () => void = () => undefined;
    const a = mutex.run('a', () => new Promise<void>((resolve) => (releaseA = resolve)));
    // 'b' completes although 'a' is still held.
    await expect(mutex.run('b', () => Promise.resolve('b done'))).resolves.toBe('b done');
    releaseA();
    await a;
  });

  it('releases the key when the holder throws, and the next holder runs', async () => {
    const mutex = new KeyedMutex();
    await expect(mutex.run('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(mutex.run('k', () => Promise.resolve(7))).resolves.toBe(7);
    expect(mutex.lockedKeys).toBe(0);
  });

  it('runs the holders of one key in arrival order', async () => {
    const mutex = new KeyedMutex();
    const order: number[] = [];
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        mutex.run('k', async () => {
          await yieldTurn();
          order.push(i);
        }),
      ),
    );
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('KeyedMutex waiter bound', () => {
  it('refuses a holder at once with KeyBusyError when the key already has maxWaiters waiting, and serves the others in order', async () => {
    const mutex = new KeyedMutex(2);
    let release: () => void = () => undefined;
    const order: number[] = [];
    const first = mutex.run('k', () => new Promise<void>((resolve) => (release = resolve)));
    const waiting = [1, 2].map((i) => mutex.run('k', () => Promise.resolve(void order.push(i))));
    const refused = await mutex.run('k', () => Promise.resolve(void order.push(3))).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KeyBusyError);
    expect(refused).toMatchObject({ waiters: 2, limit: 2 });
    // Another key is not affected.
    await mutex.run('other', () => Promise.resolve());
    release();
    await Promise.all([first, ...waiting]);
    expect(order).toEqual([1, 2]);
    expect(mutex.lockedKeys).toBe(0);
  });
});
