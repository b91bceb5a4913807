import { ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ServiceError } from './errors.js';
import { grpcMethodName, type GrpcMethodName } from './grpc-method.js';
import { peerAuthentication, type PeerAuthentication } from './tls-identity.js';

/**
 * Who may call what, by the SPIFFE ID of the caller's verified client certificate: a storage
 * node serves replica traffic only to the coordinator, anti-entropy and membership; the rate
 * limiter's Check stream only to coordinators. Checked before the handler runs.
 */

/** Any caller, with or without a certificate. */
export const ANYONE = 'anyone';

/** The identities allowed, or {@link ANYONE}. */
export type AllowedCallers = typeof ANYONE | readonly string[];

/** Rules by service (`quorumkv.storage.v1.StorageService`) or method (`…StorageService/Replicate`). */
export interface AccessPolicy {
  /** A method's own entry wins over its service's. */
  readonly rules: Readonly<Record<string, AllowedCallers>>;
  /** Methods no rule names, except health and reflection, which anyone may call (probes). */
  readonly otherwise: AllowedCallers;
}

/** The call came without a client certificate, and the method needs one. */
export class UnauthenticatedError extends ServiceError {
  override readonly name = 'UnauthenticatedError';
  constructor(
    readonly method: string,
    readonly allowed: readonly string[],
  ) {
    super(status.UNAUTHENTICATED, `${method} needs a client certificate with the identity ${allowed.join(' or ')}; the call had none`);
  }
}

/** The caller's certificate names an identity this method does not serve. */
export class PermissionDeniedError extends ServiceError {
  override readonly name = 'PermissionDeniedError';
  constructor(
    readonly method: string,
    /** The caller's SPIFFE ID; undefined when its certificate names none. */
    readonly identity: string | undefined,
    readonly allowed: readonly string[],
  ) {
    super(
      status.PERMISSION_DENIED,
      `${identity ?? 'a certificate without a SPIFFE identity'} may not call ${method}: only ${allowed.join(', ')} may`,
    );
  }
}

const OPEN_SERVICES = new Set(['grpc.health.v1.Health', 'grpc.reflection.v1alpha.ServerReflection', 'grpc.reflection.v1.ServerReflection']);

/** The callers `policy` allows on `method`. */
export function allowedCallers(policy: AccessPolicy, method: GrpcMethodName): AllowedCallers {
  if (OPEN_SERVICES.has(method.service)) return ANYONE;
  return policy.rules[method.fullName] ?? policy.rules[method.service] ?? policy.otherwise;
}

/** Why `peer` may not call `method`, or undefined when it may. */
export function authorizationError(policy: AccessPolicy, method: GrpcMethodName, peer: PeerAuthentication): ServiceError | undefined {
  const allowed = allowedCallers(policy, method);
  if (allowed === ANYONE) return undefined;
  if (peer.kind === 'anonymous') return new UnauthenticatedError(method.fullName, allowed);
  if (peer.identity !== undefined && allowed.includes(peer.identity)) return undefined;
  return new PermissionDeniedError(method.fullName, peer.identity, allowed);
}

/**
 * A server interceptor that ends a call the policy refuses (UNAUTHENTICATED without a
 * certificate, PERMISSION_DENIED with another identity) before its handler runs or reads a
 * message. Place it first in the chain after observability: nothing else should run for it.
 * Only meaningful with TLS: on plain text every caller is anonymous.
 */
export function createAuthorizationInterceptor(policy: AccessPolicy, options: { readonly logger?: Logger } = {}): ServerInterceptor {
  return (descriptor, call) => {
    const method = grpcMethodName(descriptor.path);
    if (allowedCallers(policy, method) === ANYONE) return new ServerInterceptingCall(call);
    const refusal = authorizationError(policy, method, peerAuthentication(call));
    if (refusal === undefined) return new ServerInterceptingCall(call);
    options.logger?.warn({ method: method.fullName, err: refusal.message }, 'call refused: caller not allowed');
    return new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: () => {
            call.sendStatus({ code: refusal.code, details: refusal.message, metadata: null });
          },
        });
      },
    });
  };
}
