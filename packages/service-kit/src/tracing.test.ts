import { Metadata } from '@grpc/grpc-js';
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type SpanContext } from '@opentelemetry/api';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startInMemoryTelemetry, type InMemoryTelemetry } from './testing/in-memory-telemetry.js';
import { extractFromMetadata, extractFromRecord, injectIntoMetadata, injectIntoRecord, withSpan } from './tracing.js';

let otel: InMemoryTelemetry;
beforeAll(() => {
  otel = startInMemoryTelemetry('tracing-test');
});
afterAll(async () => {
  await otel.telemetry.shutdown();
});
beforeEach(() => otel.reset());

const hex = (len: number): fc.Arbitrary<string> =>
  fc
    .string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: len, maxLength: len })
    .filter((s) => /[^0]/.test(s)); // all-zero ids are invalid by the W3C spec

const spanContexts: fc.Arbitrary<SpanContext> = fc.record({
  traceId: hex(32),
  spanId: hex(16),
  traceFlags: fc.constantFrom(TraceFlags.NONE, TraceFlags.SAMPLED),
});

function contextOf(sc: SpanContext): ReturnType<typeof trace.setSpanContext> {
  return trace.setSpanContext(ROOT_CONTEXT, sc);
}

describe('W3C propagation helpers', () => {
  it('round-trips any valid span context through gRPC metadata as a remote parent', () => {
    fc.assert(
      fc.property(spanContexts, (sc) => {
        const md = injectIntoMetadata(new Metadata(), contextOf(sc));
        expect(md.get('traceparent')).toEqual([`00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags}`]);
        const got = trace.getSpanContext(extractFromMetadata(md, ROOT_CONTEXT));
        expect(got).toEqual({ ...sc, isRemote: true });
      }),
    );
  });

  it('round-trips any valid span context through the plain map carried by stream messages', () => {
    fc.assert(
      fc.property(spanContexts, (sc) => {
        const carrier = injectIntoRecord(contextOf(sc));
        expect(Object.keys(carrier)).toEqual(['traceparent']);
        const got = trace.getSpanContext(extractFromRecord(carrier, ROOT_CONTEXT));
        expect(got).toEqual({ ...sc, isRemote: true });
      }),
    );
  });

  it('carries tracestate along with traceparent', () => {
    const md = new Metadata();
    md.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    md.set('tracestate', 'vendor=abc');
    const carrier = injectIntoRecord(extractFromMetadata(md, ROOT_CONTEXT));
    expect(carrier).toEqual({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=abc' });
  });

  it('leaves the base context unchanged when the carrier is missing or malformed', () => {
    expect(extractFromRecord(undefined, ROOT_CONTEXT)).toBe(ROOT_CONTEXT);
    expect(trace.getSpanContext(extractFromRecord({ traceparent: 'garbage' }, ROOT_CONTEXT))).toBeUndefined();
    expect(injectIntoRecord(ROOT_CONTEXT)).toEqual({});
  });
});

describe('withSpan', () => {
  it('makes a child of the active span, active while the async work runs, and ends it when the promise settles', async () => {
    const result = await withSpan('outer', async (outer) => {
      const innerId = await withSpan('inner', async () => {
        await Promise.resolve();
        return trace.getActiveSpan()?.spanContext().spanId;
      });
      return { outerId: outer.spanContext().spanId, innerId };
    });
    const spans = await otel.finishedSpans();
    const outer = spans.find((s) => s.name === 'outer');
    const inner = spans.find((s) => s.name === 'inner');
    expect(outer?.spanContext().spanId).toBe(result.outerId);
    expect(inner?.spanContext().spanId).toBe(result.innerId);
    expect(inner?.parentSpanContext?.spanId).toBe(result.outerId);
    expect(inner?.spanContext().traceId).toBe(outer?.spanContext().traceId);
    expect(outer?.kind).toBe(SpanKind.INTERNAL);
  });

  it('takes an explicit parent, such as the trace map of a stream message', async () => {
    const carrier = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    withSpan('replica.write', () => 1, { parent: extractFromRecord(carrier, ROOT_CONTEXT), kind: SpanKind.SERVER });
    const [span] = await otel.finishedSpans();
    expect(span?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(span?.kind).toBe(SpanKind.SERVER);
  });

  it('marks the span ERROR and rethrows the same error, sync or async', async () => {
    class BoomError extends Error {
      override readonly name = 'BoomError';
    }
    const boom = new BoomError('disk full');
    expect(() => withSpan('sync', () => { throw boom; })).toThrow(boom);
    await expect(withSpan('async', () => Promise.reject(boom))).rejects.toBe(boom);
    const spans = await otel.finishedSpans();
    for (const name of ['sync', 'async']) {
      const span = spans.find((s) => s.name === name);
      expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'BoomError: disk full' });
      expect(span?.events.map((e) => e.name)).toEqual(['exception']);
    }
  });

  it('restores the caller\'s context after the span', () => {
    const before = context.active();
    withSpan('x', () => undefined);
    expect(context.active()).toBe(before);
  });
});
