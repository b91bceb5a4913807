import { status, type Metadata } from '@grpc/grpc-js';
import { ServiceError, type PeerAuthentication } from '@quorumkv/service-kit';

/** The caller named when the call carries no identity. */
export const ANONYMOUS_CALLER = 'anonymous';

/** The caller named by `key` in the metadata, or {@link ANONYMOUS_CALLER}. */
export function callerOf(metadata: Metadata, key: string): string {
  const v = metadata.get(key)[0];
  const caller = typeof v === 'string' ? v.trim() : '';
  return caller === '' ? ANONYMOUS_CALLER : caller;
}

/** The caller `key` names in a call's HTTP/2 headers, trimmed; '' when none. */
export function claimedCaller(headers: Readonly<Record<string, string | string[] | undefined>>, key: string): string {
  const raw = headers[key];
  return ((Array.isArray(raw) ? raw[0] : raw) ?? '').trim();
}

/** A call names a caller its client certificate does not prove. */
export class CallerClaimError extends ServiceError {
  override readonly name = 'CallerClaimError';
  constructor(
    readonly claimed: string,
    /** The identity the certificate proves; undefined when the call had no certificate. */
    readonly identity: string | undefined,
    key: string,
  ) {
    super(
      status.PERMISSION_DENIED,
      identity === undefined
        ? `${key} claims the identity ${claimed}, which only a client certificate can prove; the call had none`
        : `${key} names ${claimed}, but the client certificate proves ${identity}: a caller with a certificate is counted as its identity (send no ${key}, or that identity)`,
    );
  }
}

/**
 * Who a call counts as for rate limiting and admission. With a verified client certificate
 * naming an identity, that identity (its SPIFFE ID) — so a caller cannot spend another caller's
 * quota by naming it. Why a different `key` value (`claimed`, trimmed; '' for none) is refused
 * rather than ignored: a client that sends one believes it is counted under that name; telling
 * it beats counting it silently under another. Without a certificate the metadata still names
 * the caller (as before TLS), except a SPIFFE ID, which would let anyone spend an identified
 * caller's quota.
 * @throws CallerClaimError (PERMISSION_DENIED) for a claim the certificate does not back
 */
export function resolveCaller(peer: PeerAuthentication, claimed: string, key: string): string {
  const named = claimed !== '' && claimed !== ANONYMOUS_CALLER;
  const identity = peer.kind === 'certificate' ? peer.identity : undefined;
  if (identity !== undefined) {
    if (named && claimed !== identity) throw new CallerClaimError(claimed, identity, key);
    return identity;
  }
  if (claimed.startsWith('spiffe://')) throw new CallerClaimError(claimed, undefined, key);
  return named ? claimed : ANONYMOUS_CALLER;
}
