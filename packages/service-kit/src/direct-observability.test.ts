import { credentials, Metadata, status } from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { rls } from '@quorumkv/proto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { directUnaryMethod } from './direct-unary.js';
import { InvalidArgumentError } from './errors.js';
import { startGrpcHost, type GrpcHost } from './grpc-server.js';
import { unary } from './handlers.js';
import { createLogger } from './logger.js';
import { createServiceMetrics, type ServiceMetrics } from './metrics.js';
import { directCallObserver } from './observability.js';
import { startInMemoryTelemetry, type InMemoryTelemetry } from './testing/in-memory-telemetry.js';
import { withSpan } from './tracing.js';

const logger = createLogger({ service: 'rate-limiter', node: 'rl-1', level: 'silent' });
const PATH = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';

let otel: InMemoryTelemetry;
let metrics: ServiceMetrics;
let host: GrpcHost;
let client: rls.RateLimitServiceClient;

beforeAll(async () => {
  otel = startInMemoryTelemetry('rate-limiter');
  metrics = createServiceMetrics({ runtimeMetrics: false });
  const handle = async (req: rls.RateLimitRequest): Promise<rls.RateLimitResponse> => {
    if (req.domain === '') throw new InvalidArgumentError('domain', 'must not be empty');
    // Work done by the handler joins the call's SERVER span.
    await withSpan('ratelimit.decide', () => Promise.resolve());
    return rls.RateLimitResponse.fromPartial({ overallCode: rls.RateLimitResponse_Code.OK });
  };
  host = await startGrpcHost({
    address: '127.0.0.1:0',
    maxReceiveMessageBytes: 64 * 1024,
    logger,
    services: [
      {
        name: 'envoy.service.ratelimit.v3.RateLimitService',
        definition: rls.RateLimitServiceService,
        implementation: { shouldRateLimit: unary(logger, handle) },
      },
    ],
    direct: {
      methods: [directUnaryMethod(rls.RateLimitServiceService.shouldRateLimit, { encoder: rls.RateLimitResponse, empty: rls.RateLimitResponse.create() }, handle)],
      observe: directCallObserver({ metrics, telemetry: otel.telemetry }),
    },
  });
  client = new rls.RateLimitServiceClient(host.address, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await host.shutdown(1_000);
  await otel.telemetry.shutdown();
});

beforeEach(() => otel.reset());

function check(domain: string, metadata = new Metadata()): Promise<number> {
  const req = rls.RateLimitRequest.fromPartial({ domain, descriptors: [{ entries: [{ key: 'k', value: 'v' }] }] });
  return new Promise((resolve) => client.shouldRateLimit(req, metadata, (err) => resolve(err ? err.code : status.OK)));
}

const counted = async (code: string): Promise<number> => {
  const m = await metrics.grpcRequests.get();
  return m.values.find((v) => v.labels['method'] === PATH.slice(1) && v.labels['code'] === code)?.value ?? 0;
};

describe('directCallObserver on directly served calls', () => {
  it('makes a SERVER span child of the caller\'s traceparent, with the handler\'s spans under it', async () => {
    const md = new Metadata();
    md.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(await check('edge', md)).toBe(status.OK);
    const spans = await otel.finishedSpans();
    const server = spans.find((s) => s.kind === SpanKind.SERVER);
    const decide = spans.find((s) => s.name === 'ratelimit.decide');
    expect(server?.name).toBe(PATH.slice(1));
    expect(server?.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(server?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(decide?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(server?.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.method': 'ShouldRateLimit', 'rpc.grpc.status_code': status.OK });
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it('leaves a caller mistake UNSET on the span, and counts every call by method and code with its duration', async () => {
    const okBefore = await counted('OK');
    const badBefore = await counted('INVALID_ARGUMENT');
    expect(await check('edge')).toBe(status.OK);
    expect(await check('')).toBe(status.INVALID_ARGUMENT);
    expect(await counted('OK')).toBe(okBefore + 1);
    expect(await counted('INVALID_ARGUMENT')).toBe(badBefore + 1);
    const failed = (await otel.finishedSpans()).find((s) => s.kind === SpanKind.SERVER && s.attributes['rpc.grpc.status_code'] === status.INVALID_ARGUMENT);
    expect(failed?.status.code).toBe(SpanStatusCode.UNSET);
    const duration = await metrics.grpcRequestDuration.get();
    const count = duration.values.find((v) => v.metricName?.endsWith('_count') && v.labels['method'] === PATH.slice(1));
    expect(count?.value).toBeGreaterThanOrEqual(2);
  });
});
