import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatGet, formatGetBase64, formatStatus, formatValue, getJson, printableText, toJsonText } from './format.js';

describe('value formatting', () => {
  it('prints UTF-8 as text, quoting text with line breaks or controls, and only binary values as base64', () => {
    expect(formatValue(Buffer.from('héllo wörld ✓'))).toBe('héllo wörld ✓');
    expect(formatValue(Buffer.from('two\nlines'))).toBe('"two\\nlines"');
    expect(formatValue(Buffer.from('a\tb "c" \\ \u0007 \u0085 \u2028'))).toBe('"a\\tb \\"c\\" \\\\ \\u0007 \\u0085 \\u2028"');
    expect(formatValue(Buffer.from([0xff, 0xfe, 0x00]))).toBe('(base64) //4A');
    expect(formatValue(Buffer.alloc(0))).toBe('(empty)');
  });

  it('quotes text that would be read as something else: blanks at the ends, a leading quote, a marker', () => {
    for (const text of [' padded', 'padded ', '"quoted"', '(empty)', '(not found)', '(base64) AAAA']) {
      expect(formatValue(Buffer.from(text))).toBe(JSON.stringify(text));
    }
    expect(formatValue(Buffer.from('(555) 010-999'))).toBe('(555) 010-999');
  });

  it('prints every UTF-8 value on one line, and a quoted one reads back (JSON.parse) to the same bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        const bytes = Buffer.from(text, 'utf8');
        fc.pre(bytes.toString('utf8') === text && bytes.length > 0);
        const shown = formatValue(bytes);
        expect(shown).not.toMatch(/[\n\r\u2028\u2029]/);
        if (shown.startsWith('"')) expect(Buffer.from(JSON.parse(shown) as string, 'utf8')).toEqual(bytes);
        else expect(shown).toBe(text);
      }),
    );
  });

  it('never prints a control character or invalid UTF-8 as text, for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const text = printableText(bytes);
        if (text !== undefined) {
          expect(Buffer.from(text, 'utf8')).toEqual(Buffer.from(bytes));
          const controls = [...text].filter((ch) => {
            const c = ch.codePointAt(0) ?? 0;
            return (c < 0x20 && c !== 0x09) || (c >= 0x7f && c <= 0x9f);
          });
          expect(controls).toEqual([]);
        }
      }),
    );
  });
});

describe('formatGet', () => {
  const context = Buffer.from('ctx');

  it('prints a single value then the context', () => {
    expect(formatGet({ found: true, siblings: [Buffer.from('v')], context })).toEqual(['v', 'context: Y3R4']);
  });

  it('numbers every sibling when writers raced', () => {
    const lines = formatGet({ found: true, siblings: [Buffer.from('a'), Buffer.from([0xc3])], context });
    expect(lines).toEqual([
      '2 siblings (concurrent writes; put with this context to resolve them):',
      '  [1] a',
      '  [2] (base64) ww==',
      'context: Y3R4',
    ]);
  });

  it('says not found, keeping a tombstone context so a put can supersede it', () => {
    expect(formatGet({ found: false, siblings: [], context })).toEqual(['(not found)', 'context: Y3R4']);
    expect(formatGet({ found: false, siblings: [], context: Buffer.alloc(0) })).toEqual(['(not found)']);
  });

  it('prints each sibling as base64 for --format base64', () => {
    expect(formatGetBase64({ found: true, siblings: [Buffer.from('a'), Buffer.from([0xc3])], context })).toEqual(['YQ==', 'ww==', 'context: Y3R4']);
    expect(formatGetBase64({ found: false, siblings: [], context: Buffer.alloc(0) })).toEqual(['(not found)']);
  });

  it('gives JSON every sibling exactly as base64, with text when it is UTF-8', () => {
    expect(getJson({ found: true, siblings: [Buffer.from('a'), Buffer.from([0xc3])], context })).toEqual({
      found: true,
      siblings: [{ base64: 'YQ==', text: 'a' }, { base64: 'ww==' }],
      context: 'Y3R4',
    });
  });
});

describe('formatStatus', () => {
  it('prints one aligned row per node and a summary line', () => {
    const lines = formatStatus({
      replicationFactor: 3,
      vnodesPerNode: 64,
      nodes: [
        { id: 'node-1', address: '127.0.0.1:7101', up: true, ringShare: 0.3412, keyCount: 1204n, approximateBytes: 0n },
        { id: 'n2', address: '127.0.0.1:7102', up: false, ringShare: 0.6588, keyCount: 7n, approximateBytes: 0n },
      ],
    });
    expect(lines).toEqual([
      'NODE    ADDRESS         STATE  RING SHARE  KEYS',
      'node-1  127.0.0.1:7101  up          34.1%  1204',
      'n2      127.0.0.1:7102  down        65.9%     7',
      '',
      '1/2 nodes up, replication factor 3, 64 vnodes per node',
    ]);
  });
});

describe('toJsonText', () => {
  it('writes bigints as numbers when exact and as strings when not', () => {
    expect(toJsonText({ a: 5n, b: 2n ** 60n })).toBe('{"a":5,"b":"1152921504606846976"}');
  });
});
