import { describe, expect, it } from 'vitest';
import { kv } from '@quorumkv/proto';
import { InvalidArgumentError } from '@quorumkv/service-kit';
import { ContextCodec } from '@quorumkv/vclock';
import { testContexts } from './testing/context-keys.js';
import { replicasNeeded, validateDelete, validateGet, validatePut } from './validate.js';

const limits = { maxKeyBytes: 8, maxValueBytes: 16, replicationFactor: 3, pr: 0 };
const contexts = testContexts();
const NO_ID = Buffer.alloc(0);
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
    expect(fieldOf(() => validateGet({ key: Buffer.alloc(0), consistency: 0, r: 0, pr: 0 }, limits))?.field).toBe('key');
    const e = fieldOf(() => validatePut({ key: Buffer.alloc(9), value: Buffer.alloc(1), context: Buffer.alloc(0), consistency: 0, w: 0, requestId: NO_ID, pw: 0 }, limits, contexts));
    expect(e?.field).toBe('key');
    expect(e?.message).toContain('limit is 8 bytes');
  });

  it('refuses a value over the limit and accepts one at the limit', () => {
    const put = (n: number) => () =>
      validatePut({ key: Buffer.from('k'), value: Buffer.alloc(n), context: Buffer.alloc(0), consistency: 0, w: 0, requestId: NO_ID, pw: 0 }, limits, contexts);
    expect(fieldOf(put(17))?.message).toContain('limit is 16 bytes');
    expect(fieldOf(put(16))).toBeUndefined();
  });

  it('refuses a malformed context and decodes a real one', () => {
    const bad = fieldOf(() => validateDelete({ key: Buffer.from('k'), context: Buffer.from('garbage!'), consistency: 0, w: 0, requestId: NO_ID, pw: 0 }, limits, contexts));
    expect(bad?.field).toBe('context');
    const ctx = contexts.encode([{ node: 'node-1', epoch: 9n, counter: 4, timestampMs: 1 }], Buffer.from('k'));
    const ok = validatePut({ key: Buffer.from('k'), value: Buffer.from('v'), context: ctx, consistency: 0, w: 0, requestId: Buffer.from('rid'), pw: 0 }, limits, contexts);
    expect(ok.context.map((e) => [e.node, e.epoch, e.counter])).toEqual([['node-1', 9n, 4]]);
    expect(ok.w).toBe(2);
    expect(ok.requestId).toEqual(Buffer.from('rid'));
  });

  it('tells the client what to do about each context it refuses: unsigned, foreign key, altered or another key\'s', () => {
    const key = Buffer.from('k');
    const clock = [{ node: 'node-1', epoch: 9n, counter: 4, timestampMs: 1 }];
    const del = (context: Buffer, k = key) => () => validateDelete({ key: k, context, consistency: 0, w: 0, requestId: NO_ID, pw: 0 }, limits, contexts);
    const unsigned = Buffer.from([0x51, 0x01, 0x0a, 0x00, 0, 0, 0, 0]);
    expect(fieldOf(del(unsigned))?.message).toMatch(/^context: refused: .*unsigned format of an older quorumkv.*read the key again/);
    const other = new ContextCodec({ currentId: 'old', keys: [{ id: 'old', secret: Buffer.alloc(32, 1) }] });
    expect(fieldOf(del(other.encode(clock, key)))?.message).toMatch(/key id "old".*no longer accepts/);
    expect(fieldOf(del(contexts.encode(clock, Buffer.from('other'))))?.message).toMatch(/signature does not match.*another key/);
  });

  it('refuses a request id over 64 bytes, naming request_id', () => {
    const e = fieldOf(() =>
      validatePut({ key: Buffer.from('k'), value: Buffer.from('v'), context: Buffer.alloc(0), consistency: 0, w: 0, requestId: Buffer.alloc(65), pw: 0 }, limits, contexts),
    );
    expect(e?.field).toBe('request_id');
    expect(e?.message).toContain('limit is 64 bytes');
  });
});
