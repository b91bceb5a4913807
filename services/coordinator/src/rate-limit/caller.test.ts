import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ANONYMOUS_CALLER, CallerClaimError, callerOf, resolveCaller } from './caller.js';

const KEY = 'x-quorumkv-caller';
const ALICE = 'spiffe://quorumkv/client/alice';

/** The claim as the interceptor reads it from metadata. */
function metadata(caller?: string): string {
  const md = new Metadata();
  if (caller !== undefined) md.set(KEY, caller);
  return callerOf(md, KEY);
}

describe('who a call counts as for rate limiting', () => {
  it('a caller with a certificate is its identity, whether it names itself or not', () => {
    const peer = { kind: 'certificate', identity: ALICE } as const;
    expect(resolveCaller(peer, metadata(), KEY)).toBe(ALICE);
    expect(resolveCaller(peer, metadata(ALICE), KEY)).toBe(ALICE);
  });

  it('a caller with a certificate cannot claim another caller (PERMISSION_DENIED naming both)', () => {
    const claim = (): string => resolveCaller({ kind: 'certificate', identity: ALICE }, metadata('bob'), KEY);
    expect(claim).toThrow(CallerClaimError);
    expect(claim).toThrow(`${KEY} names bob, but the client certificate proves ${ALICE}`);
    try {
      claim();
    } catch (err) {
      expect((err as CallerClaimError).code).toBe(status.PERMISSION_DENIED);
    }
  });

  it('without a certificate the metadata names the caller, but never a SPIFFE identity', () => {
    expect(resolveCaller({ kind: 'anonymous' }, metadata('bob'), KEY)).toBe('bob');
    expect(resolveCaller({ kind: 'anonymous' }, metadata(), KEY)).toBe(ANONYMOUS_CALLER);
    expect(() => resolveCaller({ kind: 'anonymous' }, metadata(ALICE), KEY)).toThrow(/claims the identity spiffe:\/\/quorumkv\/client\/alice, which only a client certificate can prove/);
  });

  it('a certificate naming no SPIFFE identity counts as the metadata says', () => {
    expect(resolveCaller({ kind: 'certificate', identity: undefined }, metadata('bob'), KEY)).toBe('bob');
  });
});
