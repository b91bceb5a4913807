import { TLSSocket } from 'node:tls';
import type { ServerInterceptingCallInterface } from '@grpc/grpc-js';

/** What grpc-js tells about a connection's TLS (its `AuthContext`, which it does not export). */
type AuthContext = ReturnType<ServerInterceptingCallInterface['getAuthContext']>;

/**
 * Workload identities: a SPIFFE ID (`spiffe://quorumkv/coordinator`) carried as the one URI
 * subject alternative name of a certificate, read from the peer certificate that TLS verified.
 */

/** The trust domain of every quorumkv identity. */
export const TRUST_DOMAIN = 'quorumkv';

/** The identity of a workload or client: `spiffe://quorumkv/<path>`. */
export function spiffeId(path: string): string {
  return `spiffe://${TRUST_DOMAIN}/${path}`;
}

/**
 * The identities quorumkv's own services present. Storage nodes serve replica traffic only to
 * the coordinator, anti-entropy and membership; the rate limiter's Check stream only to the
 * coordinator, its replica stream only to its peers.
 */
export const SERVICE_IDENTITIES = {
  coordinator: spiffeId('coordinator'),
  storageNode: spiffeId('storage-node'),
  rateLimiter: spiffeId('rate-limiter'),
  membership: spiffeId('membership'),
  antiEntropy: spiffeId('anti-entropy'),
} as const;

/** The identity of a client called `name` (`spiffe://quorumkv/client/<name>`). */
export function clientIdentity(name: string): string {
  return spiffeId(`client/${name}`);
}

/**
 * Splits Node's `subjectaltname` text (`URI:spiffe://quorumkv/x, IP Address:127.0.0.1,
 * DNS:localhost`) into its entries. Node writes a value holding a comma or a quote as a JSON
 * string (`URI:"spiffe://a,b"`), so a comma inside one does not split it.
 */
export function subjectAltNames(text: string): { readonly type: string; readonly value: string }[] {
  const entries: { type: string; value: string }[] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon).trim();
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      // A JSON string: find its closing quote (skipping escaped ones) and decode it.
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      end = text.indexOf(',', j + 1);
    } else {
      end = text.indexOf(',', colon + 1);
      value = text.slice(colon + 1, end < 0 ? undefined : end);
    }
    entries.push({ type, value });
    i = end < 0 ? text.length : end + 1;
  }
  return entries;
}

/**
 * The SPIFFE ID a certificate's `subjectaltname` names, or undefined. Why exactly one: an
 * X.509 SVID carries one URI SAN; a certificate naming two identities is ambiguous, and taking
 * either would let whoever issued it choose which rule applies, so it counts as none.
 */
export function identityFromSubjectAltName(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const ids = subjectAltNames(text).filter((e) => e.type === 'URI' && e.value.startsWith('spiffe://'));
  return ids.length === 1 ? ids[0]?.value : undefined;
}

/** A server call or intercepting call: anything that tells what TLS verified about its peer. */
export interface HasAuthContext {
  getAuthContext(): AuthContext;
}

/** What TLS says about the peer of a call. */
export type PeerAuthentication =
  /** No verified client certificate (plain text, TLS without one, or one TLS did not trust). */
  | { readonly kind: 'anonymous' }
  /** A certificate the CA bundle verified; `identity` undefined when it names no single SPIFFE ID. */
  | { readonly kind: 'certificate'; readonly identity: string | undefined };

/**
 * Who called, from the client certificate TLS verified on the call's connection. grpc-js
 * reports a peer certificate only when the handshake verified it against the CA bundle, so an
 * unverified one (client certificates optional) reads as anonymous, never as its claimed name.
 */
export function peerAuthentication(call: HasAuthContext): PeerAuthentication {
  const cert = call.getAuthContext().sslPeerCertificate;
  if (cert === undefined) return { kind: 'anonymous' };
  return { kind: 'certificate', identity: identityFromSubjectAltName(cert.subjectaltname) };
}

/**
 * {@link peerAuthentication} from a connection's socket, for code below grpc-js (a stream gate):
 * the same rule grpc-js applies — a certificate counts only when TLS verified it.
 */
export function socketPeerAuthentication(socket: unknown): PeerAuthentication {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return { kind: 'anonymous' };
  const cert = socket.getPeerCertificate();
  return Object.keys(cert).length === 0 ? { kind: 'anonymous' } : { kind: 'certificate', identity: identityFromSubjectAltName(cert.subjectaltname) };
}

/** The caller's SPIFFE ID from its verified client certificate, or undefined. */
export function peerIdentity(call: HasAuthContext): string | undefined {
  const auth = peerAuthentication(call);
  return auth.kind === 'certificate' ? auth.identity : undefined;
}

/** Every quorumkv service: who may use an internal port's services that name no narrower rule. */
export const INTERNAL_CALLERS: readonly string[] = Object.values(SERVICE_IDENTITIES);
