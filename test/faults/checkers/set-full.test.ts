import { describe, expect, it } from 'vitest';
import type { AddOp, ReadOp } from '../history.js';
import { checkSetFull } from './set-full.js';

const add = (key: string, outcome: AddOp['outcome'], invokeMs: number, completeMs: number): AddOp => ({ kind: 'add', client: 0, key, value: `v-${key}`, invokeMs, completeMs, outcome });
const read = (key: string, values: string[] | undefined, invokeMs: number, completeMs: number, final = false): ReadOp => ({
  kind: 'read',
  client: 1,
  key,
  invokeMs,
  completeMs,
  ...(values === undefined ? { error: 'UNAVAILABLE' } : { values }),
  ...(final ? { final: true } : {}),
});

describe('checkSetFull', () => {
  it('counts an acknowledged add that the final read lacks as lost, with when it was last seen', () => {
    const r = checkSetFull([add('a', 'ok', 0, 10)], [read('a', ['v-a'], 20, 25), read('a', [], 100, 110, true)]);
    expect(r.lost).toEqual([{ key: 'a', value: 'v-a', ackMs: 10, latencyMs: 90, lastSeenMs: 25 }]);
    expect(r.stale).toEqual([]);
  });

  it('counts an add that a read begun after its acknowledgement missed, but that is present at the end, as stale', () => {
    const r = checkSetFull([add('a', 'ok', 0, 10)], [read('a', [], 30, 35), read('a', ['v-a'], 50, 55), read('a', ['v-a'], 100, 110, true)]);
    expect(r.stale).toEqual([{ key: 'a', value: 'v-a', staleMs: 20 }]);
    expect(r.lost).toEqual([]);
  });

  it('does not count a miss by a read that began before the acknowledgement', () => {
    const r = checkSetFull([add('a', 'ok', 0, 10)], [read('a', [], 5, 12), read('a', ['v-a'], 100, 110, true)]);
    expect(r.stale).toEqual([]);
  });

  it('calls an add of unknown outcome that is present recovered, and one that is absent nothing', () => {
    const r = checkSetFull([add('a', 'unknown', 0, 10), add('b', 'unknown', 0, 10)], [read('a', ['v-a'], 100, 110, true), read('b', [], 100, 110, true)]);
    expect(r.recovered).toEqual(['a']);
    expect(r.lost).toEqual([]);
    expect(r.unexpected).toEqual([]);
  });

  it('flags a value never written to the key, and the value of a refused add, as unexpected', () => {
    const r = checkSetFull([add('a', 'ok', 0, 10), add('b', 'fail', 0, 10)], [read('a', ['v-a', 'v-zzz'], 20, 25), read('b', ['v-b'], 20, 25, true), read('a', ['v-a'], 100, 110, true)]);
    expect(r.unexpected.map((u) => [u.key, u.value])).toEqual([
      ['a', 'v-zzz'],
      ['b', 'v-b'],
    ]);
  });

  it('lists a key whose final read failed as unread instead of judging it', () => {
    const r = checkSetFull([add('a', 'ok', 0, 10)], [read('a', undefined, 100, 110, true)]);
    expect(r.unread).toEqual(['a']);
    expect(r.lost).toEqual([]);
  });
});
