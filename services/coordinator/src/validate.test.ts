import { describe, expect, it } from 'vitest';
import { kv } from '@quorumkv/proto';
import { InvalidArgumentError } from '@quorumkv/service-kit';
import { encodeContext } from '@quorumkv/vclock';
import { replicasNeeded, validateDelete, validateGet, validatePut } from './validate.js';

const limits = { maxKeyBytes: 8, maxValueBytes: 16, replicationFactor: 3 };
const L = kv.ConsistencyLevel;

function fieldOf(fn: () => unknown): { field: string; message: string } | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof InvalidArgumentError) return { field: err.field, message: err.message };
    throw err;
  }
}

describe('validation', () => {
  it('maps consistency levels to replica counts, UNSPECIFIED meaning QUORUM', () => {
    expect(replicasNeeded(L.CONSISTENCY_LEVEL_UNSPECIFIED, 0, 'r', limits)).toBe(2);
    expect(replicasNeeded(L.CONSISTENCY_LEVEL_QUORUM, 0, 'r', limits)).toBe(2);
    expect(replicasNeeded(L.CONSISTENCY_LEVEL_ONE, 0, 'r', limits)).toBe(1);
    expect(replicasNeeded(L.CONSISTENCY_LEVEL_ALL, 0, 'w', limits)).toBe(3);
  });

  it('lets an explicit r or w override the level, and refuses one above N naming the field', () => {
    expect(replicasNeeded(L.CONSISTENCY_LEVEL_ONE, 3, 'w', limits)).toBe(3);
    const e = fieldOf(() => replicasNeeded(L.CONSISTENCY_LEVEL_QUORUM, 4, 'r', limits));
    expect(e?.field).toBe('r');
    expect(e?.message).toContain('N is 3');
  });

  it('refuses an unknown consistency level', () => {
    expect(fieldOf(() => replicasNeeded(L.UNRECOGNIZED, 0, 'r', limits))?.field).toBe('consistency');
  });

  it('refuses an empty key and a key over the limit, naming the limit', () => {
    expect(fieldOf(() => validateGet({ key: Buffer.alloc(0), consistency: 0, r: 0 }, limits))?.field).toBe('key');
    const e = fieldOf(() => validatePut({ key: Buffer.alloc(9), value: Buffer.alloc(1), context: Buffer.alloc(0), consistency: 0, w: 0 }, limits));
    expect(e?.field).toBe('key');
    expect(e?.message).toContain('limit is 8 bytes');
  });

  it('refuses a value over the limit and accepts one at the limit', () => {
    const put = (n: number) => () => validatePut({ key: Buffer.from('k'), value: Buffer.alloc(n), context: Buffer.alloc(0), consistency: 0, w: 0 }, limits);
    expect(fieldOf(put(17))?.message).toContain('limit is 16 bytes');
    expect(fieldOf(put(16))).toBeUndefined();
  });

  it('refuses a malformed context and decodes a real one', () => {
    const bad = fieldOf(() => validateDelete({ key: Buffer.from('k'), context: Buffer.from('garbage!'), consistency: 0, w: 0 }, limits));
    expect(bad?.field).toBe('context');
    const ctx = encodeContext([{ node: 'node-1', counter: 4, timestampMs: 1 }]);
    const ok = validatePut({ key: Buffer.from('k'), value: Buffer.from('v'), context: ctx, consistency: 0, w: 0 }, limits);
    expect(ok.context.map((e) => [e.node, e.counter])).toEqual([['node-1', 4]]);
    expect(ok.w).toBe(2);
  });
});
