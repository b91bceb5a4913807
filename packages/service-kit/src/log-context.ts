import { trace } from '@opentelemetry/api';

/** The trace fields a log line carries while a span is active. */
export type TraceLogFields = {
  /** 32 hex digits, as in the `traceparent` header and the tracing backend's search box. */
  readonly trace_id: string;
  /** 16 hex digits: the span that was active when the line was written. */
  readonly span_id: string;
};

/**
 * A pino mixin: `trace_id` and `span_id` of the active span, nothing when there is none (or
 * telemetry is off: then no span is ever active, and this costs one context lookup per line).
 * Field names follow the OpenTelemetry log data model's JSON spelling so log backends link
 * lines to traces without mapping.
 */
export function traceLogMixin(): TraceLogFields | Record<string, never> {
  const span = trace.getActiveSpan();
  // A fresh object every time: pino's default merge strategy assigns the line's fields INTO the
  // mixin's result, so a shared (let alone frozen) object would break every log call with fields.
  if (span === undefined) return {};
  const ctx = span.spanContext();
  if (!trace.isSpanContextValid(ctx)) return {};
  return { trace_id: ctx.traceId, span_id: ctx.spanId };
}
