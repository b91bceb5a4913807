import { ServerInterceptingCall, status, type ServerInterceptor, type ServerInterceptingCallInterface } from '@grpc/grpc-js';
import type { rls } from '@quorumkv/proto';
import { grpcMethodName, peerAuthentication, ServiceError, toStatusObject, type Logger } from '@quorumkv/service-kit';
import { callerOf, resolveCaller } from './caller.js';
import type { CheckVerdict } from './check-client.js';
import { RateLimitExceededError, RateLimiterUnavailableError, summarizeLimit } from './refusal.js';

/** The service whose calls are rate limited; health, reflection and ClusterService are not. */
export const RATE_LIMITED_SERVICE = 'quorumkv.kv.v1.KeyValueService';

/** Whatever answers checks (a {@link RateLimitCheckClient}, or a fake in tests). */
export interface RateLimitChecker {
  check(request: rls.RateLimitRequest): Promise<CheckVerdict>;
}

/** Options of {@link createRateLimitInterceptor}. */
export interface RateLimitInterceptorOptions {
  readonly checker: RateLimitChecker;
  /** Rule domain asked about. @default 'quorumkv' */
  readonly domain?: string;
  /** Metadata key naming the caller (a client certificate's identity wins, see `resolveCaller`). @default 'x-quorumkv-caller' */
  readonly callerMetadataKey?: string;
  readonly logger: Logger;
}

/**
 * The RateLimitRequest for one call: descriptors `[caller]`, `[caller, method]` and `[method]`
 * (method is the short RPC name, `Put`), one hit each, so rules can limit a caller overall, a
 * caller on one method, or a method across callers.
 */
export function rateLimitRequest(domain: string, caller: string, method: string): rls.RateLimitRequest {
  const callerEntry = { key: 'caller', value: caller };
  const methodEntry = { key: 'method', value: method };
  return {
    domain,
    descriptors: [
      { entries: [callerEntry], limit: undefined, hitsAddend: undefined, isNegativeHits: false },
      { entries: [callerEntry, methodEntry], limit: undefined, hitsAddend: undefined, isNegativeHits: false },
      { entries: [methodEntry], limit: undefined, hitsAddend: undefined, isNegativeHits: false },
    ],
    hitsAddend: 0,
  };
}

/** Ends the call with the error's status and trailers (through the one error mapper). */
function refuse(call: ServerInterceptingCallInterface, err: ServiceError): void {
  const s = toStatusObject(err);
  call.sendStatus({ code: s.code ?? status.UNKNOWN, details: s.details ?? err.message, metadata: s.metadata ?? null });
}

/**
 * A grpc-js server interceptor that asks the rate limiter before every KeyValueService call.
 * It holds the call's metadata until the verdict comes: the handler (which starts reading the
 * request only after the metadata) runs only when the call is allowed, or when the check failed
 * open. Refused, the call ends RESOURCE_EXHAUSTED with the `retry-after` and `x-ratelimit-*`
 * trailers ({@link RateLimitExceededError}), and the handler never runs.
 *
 * Place it last in `startGrpcHost({ interceptors })`: grpc-js applies the array network-first,
 * so the metrics and tracing interceptors before it see refused calls too.
 */
export function createRateLimitInterceptor(options: RateLimitInterceptorOptions): ServerInterceptor {
  const domain = options.domain ?? 'quorumkv';
  const key = (options.callerMetadataKey ?? 'x-quorumkv-caller').toLowerCase();
  const { checker, logger } = options;
  return (descriptor, call) => {
    const name = grpcMethodName(descriptor.path);
    if (name.service !== RATE_LIMITED_SERVICE) return new ServerInterceptingCall(call);
    const method = name.method;
    return new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            let caller: string;
            try {
              caller = resolveCaller(peerAuthentication(call), callerOf(metadata, key), key);
            } catch (err) {
              if (!(err instanceof ServiceError)) throw err;
              refuse(call, err);
              return;
            }
            const proceed = (verdict: CheckVerdict): void => {
              switch (verdict.kind) {
                case 'allowed':
                case 'failed-open':
                  nextMetadata(metadata);
                  return;
                case 'limited':
                  refuse(call, new RateLimitExceededError(caller, method, summarizeLimit(verdict.response)));
                  return;
                case 'failed-closed':
                  refuse(call, new RateLimiterUnavailableError(method, verdict.reason, verdict.detail));
                  return;
              }
            };
            checker.check(rateLimitRequest(domain, caller, method)).then(proceed, (err: unknown) => {
              // A checker never rejects; if one does, serving beats refusing on a bug.
              logger.error({ err, method }, 'rate limit check threw; serving the call');
              nextMetadata(metadata);
            });
          },
        });
      },
    });
  };
}
