import { describe, expect, it } from 'vitest';
import type { ReadOp, UpdateOp } from '../history.js';
import { checkSiblings } from './siblings.js';

const update = (value: string, supersedes: string[], outcome: UpdateOp['outcome'], invokeMs: number, completeMs: number): UpdateOp => ({
  kind: 'update',
  client: 0,
  key: 'hot',
  value,
  supersedes,
  invokeMs,
  completeMs,
  outcome,
});
const read = (values: string[], invokeMs: number, completeMs: number, final = false): ReadOp => ({ kind: 'read', client: 1, key: 'hot', invokeMs, completeMs, values, ...(final ? { final: true } : {}) });

describe('checkSiblings', () => {
  it('flags a superseded value returned by a read that began after the superseding update was acknowledged', () => {
    const r = checkSiblings([update('a', [], 'ok', 0, 10), update('b', ['a'], 'ok', 20, 30)], [read(['a', 'b'], 40, 45), read(['b'], 100, 110, true)]);
    expect(r.resurrected).toEqual([{ key: 'hot', value: 'a', supersededBy: 'b', ackMs: 30, readMs: 40 }]);
  });

  it('accepts the superseded value from a read that began before the acknowledgement', () => {
    const r = checkSiblings([update('a', [], 'ok', 0, 10), update('b', ['a'], 'ok', 20, 30)], [read(['a', 'b'], 25, 45), read(['b'], 100, 110, true)]);
    expect(r.resurrected).toEqual([]);
  });

  it('calls an acknowledged value lost only when no update that may have happened superseded it', () => {
    const superseded = checkSiblings([update('a', [], 'ok', 0, 10), update('b', ['a'], 'unknown', 20, 30)], [read(['b'], 100, 110, true)]);
    expect(superseded.lost).toEqual([]);
    const refused = checkSiblings([update('a', [], 'ok', 0, 10), update('b', ['a'], 'fail', 20, 30)], [read([], 100, 110, true)]);
    expect(refused.lost).toEqual([{ key: 'hot', value: 'a', ackMs: 10 }]);
  });

  it('flags values no client wrote and values of refused updates as unexpected', () => {
    const r = checkSiblings([update('a', [], 'ok', 0, 10), update('x', ['a'], 'fail', 20, 30)], [read(['a', 'x', 'ghost'], 40, 45, true)]);
    expect(r.unexpected.map((u) => u.value)).toEqual(['x', 'ghost']);
  });
});
