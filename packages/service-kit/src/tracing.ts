import {
  context as otelContext,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import type { Metadata } from '@grpc/grpc-js';

/** Instrumentation scope of every span quorumkv creates itself. */
export const TRACER_NAME = '@quorumkv/service-kit';

/**
 * The tracer for quorumkv's own spans. It is a proxy: until an SDK is registered (see
 * `startTelemetry`) it makes non-recording spans, so calling it costs a few function calls.
 */
export function quorumkvTracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get: (carrier, key) => {
    const values = carrier.get(key);
    if (values.length === 0) return undefined;
    // Binary (-bin) headers never carry trace context; keep only text values.
    const text = values.filter((v): v is string => typeof v === 'string');
    return text.length === 1 ? text[0] : text;
  },
};

const metadataSetter: TextMapSetter<Metadata> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

const recordGetter: TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => (Object.hasOwn(carrier, key) ? carrier[key] : undefined),
};

const recordSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/**
 * Writes the trace context of `ctx` (default: the active one) into gRPC metadata as W3C
 * `traceparent`/`tracestate` headers (whatever the registered propagator writes).
 * A no-op when telemetry is off: no propagator is registered then.
 */
export function injectIntoMetadata(metadata: Metadata, ctx: Context = otelContext.active()): Metadata {
  propagation.inject(ctx, metadata, metadataSetter);
  return metadata;
}

/** The context whose remote parent is the span named in the metadata (or `base` unchanged). */
export function extractFromMetadata(metadata: Metadata, base: Context = otelContext.active()): Context {
  return propagation.extract(base, metadata, metadataGetter);
}

/**
 * The trace context of `ctx` (default: the active one) as a plain map, for messages on the
 * long-lived internal streams (`ReplicaRequest.trace`). Empty when telemetry is off or there is
 * no span, so it costs one empty object.
 */
export function injectIntoRecord(ctx: Context = otelContext.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier, recordSetter);
  return carrier;
}

/** The context whose remote parent is the span named in a message's trace map. */
export function extractFromRecord(
  carrier: Readonly<Record<string, string>> | undefined,
  base: Context = otelContext.active(),
): Context {
  if (carrier === undefined) return base;
  return propagation.extract(base, carrier, recordGetter);
}

/** Options of {@link withSpan}. */
export interface WithSpanOptions {
  /** The parent; defaults to the active context. Pass `extractFromRecord(msg.trace)` on streams. */
  readonly parent?: Context;
  /** @default SpanKind.INTERNAL */
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
}

/** Marks a span failed with the exception, keeping the error's class name in the status. */
export function recordFailure(span: Span, err: unknown): void {
  if (err instanceof Error) {
    span.recordException(err);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${err.name}: ${err.message}` });
  } else {
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(err) });
  }
}

/**
 * Runs `fn` inside a new span (child of the active context, or of `options.parent`) that is
 * active while `fn` runs, so nested spans and log lines see it. The span ends when `fn`'s
 * promise settles; a throw or rejection marks it ERROR and is rethrown unchanged.
 *
 * @example
 * const value = await withSpan('storage.engine.get', () => engine.get(key));
 */
export function withSpan<T>(name: string, fn: (span: Span) => T, options: WithSpanOptions = {}): T {
  const tracer = quorumkvTracer();
  const parent = options.parent ?? otelContext.active();
  const span = tracer.startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
  const ctx = trace.setSpan(parent, span);
  let result: T;
  try {
    result = otelContext.with(ctx, fn, undefined, span);
  } catch (err) {
    recordFailure(span, err);
    span.end();
    throw err;
  }
  if (result instanceof Promise) {
    // Re-wrapping would change the promise's identity; end the span on a side branch instead
    // and hand the caller the original promise (its rejection stays theirs to handle).
    result.then(
      () => span.end(),
      (err: unknown) => {
        recordFailure(span, err);
        span.end();
      },
    );
    return result;
  }
  span.end();
  return result;
}

/** True when a message's trace map holds at least one entry. */
function hasEntries(carrier: Readonly<Record<string, string>> | undefined): boolean {
  if (carrier === undefined) return false;
  for (const key in carrier) if (Object.hasOwn(carrier, key)) return true;
  return false;
}

/**
 * Runs the work for one message of a long-lived stream in a SERVER span, child of the span named
 * in the message's `trace` map. Streams live as long as their connection, so trace context
 * travels per message, not per stream.
 *
 * A message without trace context (an untraced caller, or telemetry off at the sender) runs
 * without a span — a root span per stream message would bury the real traces in noise — and so
 * does one whose context is not sampled: its spans would never be exported.
 */
export function inMessageSpan<T>(
  name: string,
  carrier: Readonly<Record<string, string>> | undefined,
  fn: () => Promise<T>,
  attributes?: Attributes,
): Promise<T> {
  if (!hasEntries(carrier)) return fn();
  const parent = extractFromRecord(carrier);
  const sender = trace.getSpanContext(parent);
  if (sender === undefined || (sender.traceFlags & TraceFlags.SAMPLED) === 0) return fn();
  return withSpan(name, fn, { parent, kind: SpanKind.SERVER, ...(attributes ? { attributes } : {}) });
}
