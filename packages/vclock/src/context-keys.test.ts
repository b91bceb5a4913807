import { describe, expect, it } from 'vitest';
import { ContextKeysError, formatContextKeys, parseContextKeys } from './context-keys.js';

const b64 = (fill: number, n = 32): string => Buffer.alloc(n, fill).toString('base64');

describe('context key files', () => {
  it('read back what formatContextKeys wrote', () => {
    const set = { currentId: 'k2', keys: [{ id: 'k1', secret: Buffer.alloc(32, 1) }, { id: 'k2', secret: Buffer.alloc(48, 2) }] };
    const parsed = parseContextKeys(formatContextKeys(set));
    expect(parsed.currentId).toBe('k2');
    expect(parsed.keys.map((k) => [k.id, Buffer.from(k.secret).toString('hex')])).toEqual(set.keys.map((k) => [k.id, k.secret.toString('hex')]));
  });

  it('refuse each malformed file with a message that names the problem and never the secret', () => {
    const cases: [string, RegExp][] = [
      ['not json', /not JSON/],
      ['[]', /object with "current" and "keys"/],
      [JSON.stringify({ keys: { k1: b64(1) } }), /"current" must be/],
      [JSON.stringify({ current: 'k1', keys: [] }), /"keys" must be an object/],
      [JSON.stringify({ current: 'k1', keys: {} }), /no keys/],
      [JSON.stringify({ current: 'k1', keys: { k1: 'not base64!' } }), /key "k1" must be a base64 string/],
      [JSON.stringify({ current: 'k1', keys: { k1: b64(1, 16) } }), /key "k1" is 16 bytes; use at least 32/],
      [JSON.stringify({ current: 'k1', keys: { 'bad id': b64(1) } }), /key id "bad id" must be/],
      [JSON.stringify({ current: 'k9', keys: { k1: b64(1) } }), /"current" is "k9", which is not one of "keys"/],
    ];
    for (const [text, message] of cases) {
      const err = (() => {
        try {
          parseContextKeys(text);
        } catch (e) {
          return e as Error;
        }
        return undefined;
      })();
      expect(err, text).toBeInstanceOf(ContextKeysError);
      expect(err?.message, text).toMatch(message);
      expect(err?.message).not.toContain(b64(1, 16));
    }
  });
});
