import { kv } from '@quorumkv/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { etcdPut, etcdRange } from './etcd-cluster.js';
import { KEY_DIGITS, keyedRequest, KeyedRequestError, numberedKey, requestFor } from './keyed-request.js';

const value = Buffer.alloc(100, 'v');
const encoders: [string, (k: Buffer) => Buffer][] = [
  ['quorumkv PutRequest', (k) => Buffer.from(kv.PutRequest.encode({ key: k, value, context: Buffer.alloc(0), consistency: 0, w: 2, requestId: Buffer.alloc(16, 7), pw: 0 }).finish())],
  ['quorumkv GetRequest', (k) => Buffer.from(kv.GetRequest.encode({ key: k, consistency: 0, r: 2, pr: 0 }).finish())],
  ['etcd PutRequest', (k) => etcdPut(k, value)],
  ['etcd RangeRequest', etcdRange],
];

describe('keyedRequest', () => {
  it.each(encoders)('%s: splicing any key number in gives exactly what the encoder gives', (_name, encode) => {
    const t = keyedRequest(encode, 'bench-');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** KEY_DIGITS - 1 }), (n) => {
        expect(requestFor(t, n).equals(encode(numberedKey('bench-', n)))).toBe(true);
      }),
    );
  });

  it('refuses an encoder that does not keep the digits in one place', () => {
    // Writes the key twice: the digits sit in two places, so splicing one would be wrong.
    expect(() => keyedRequest((k) => Buffer.concat([k, k]), 'k')).toThrow(KeyedRequestError);
  });

  it('refuses a key number wider than the digits', () => {
    expect(() => numberedKey('k', 10 ** KEY_DIGITS)).toThrow(RangeError);
  });
});
