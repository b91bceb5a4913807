import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hintConsumer, hintSubject, nodeToken, tokenToNode } from './subjects.js';

describe('hint subjects', () => {
  it('maps every node id to one subject token and back, one-to-one', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20 }), (id) => {
        const token = nodeToken(id);
        expect(token).not.toMatch(/[.*>\s]/);
        expect(tokenToNode(token)).toBe(id);
      }),
    );
  });

  it('keeps ordinary ids readable and escapes the dot a NATS subject would split on', () => {
    expect(hintSubject('node-1')).toBe('hints.node-1');
    expect(hintSubject('eu.node.1')).toBe('hints.eu%2Enode%2E1');
    expect(hintConsumer('eu.node.1')).toBe('hints-eu%2Enode%2E1');
    // '%' itself is escaped, so an id that looks escaped cannot collide with a dotted one.
    expect(nodeToken('a%2Eb')).not.toBe(nodeToken('a.b'));
  });
});
