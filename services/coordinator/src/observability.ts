import { SpanKind, trace } from '@opentelemetry/api';
import { injectIntoRecord, withSpan } from '@quorumkv/service-kit';
import type { RateLimitChecker } from './rate-limit/interceptor.js';

/**
 * Whether the call being served is traced and sampled. Spans of an unsampled call are never
 * exported, so no child spans are made and no context is sent on for them: with a sampling ratio
 * of 1%, the other 99% of calls skip the span work and the trace map of every replica message.
 */
function inSampledSpan(): boolean {
  return trace.getActiveSpan()?.isRecording() ?? false;
}

/**
 * Runs one request to a replica in a CLIENT span (`replica.read`, `replica.coordinate`,
 * `replica.merge`, `replica.repair`) that covers its round trip: the promise settles on the
 * replica's answer. The replica client copies the active context, this span's, into the
 * message's `trace` map, so the storage node's work becomes its child.
 *
 * Outside a sampled request (telemetry off, background work with no span, a call the sampler
 * left out) it calls `fn` directly: no span, no allocation on the hot path.
 */
export function replicaSpan<T>(name: string, node: string, fn: () => Promise<T>): Promise<T> {
  if (!inSampledSpan()) return fn();
  return withSpan(name, fn, { kind: SpanKind.CLIENT, attributes: { 'quorumkv.replica': node } });
}

/** Shared by every message sent outside a traced request: an empty map costs nothing. */
const NO_TRACE: Record<string, string> = Object.freeze({});

/**
 * The trace context of the active span, for a replica message's `trace` map (W3C
 * `traceparent`/`tracestate`). Taken when the request is made, not when its batch is flushed a
 * moment later, so each message names the `replica.*` span it belongs to. Outside a sampled
 * request it is one shared empty map.
 */
export function activeTraceRecord(): Record<string, string> {
  return inSampledSpan() ? injectIntoRecord() : NO_TRACE;
}

/**
 * The rate-limit checker with each check in a CLIENT span `ratelimit.check` (child of the call's
 * SERVER span, covering the round trip to the rate limiter) whose `quorumkv.ratelimit.verdict`
 * attribute says what was decided: `allowed`, `limited`, `failed-open`, `failed-closed`. Checks
 * travel batched on one stream, so the span lives in the coordinator. Outside a sampled call
 * the checker is called directly.
 */
export function tracedChecker(checker: RateLimitChecker): RateLimitChecker {
  return {
    check: (request) => {
      if (!inSampledSpan()) return checker.check(request);
      return withSpan(
        'ratelimit.check',
        (span) =>
          checker.check(request).then((verdict) => {
            span.setAttribute('quorumkv.ratelimit.verdict', verdict.kind);
            return verdict;
          }),
        { kind: SpanKind.CLIENT, attributes: { 'quorumkv.ratelimit.domain': request.domain } },
      );
    },
  };
}
