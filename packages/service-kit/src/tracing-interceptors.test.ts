import { credentials, Metadata, status, type ServiceError as GrpcError } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { kv } from '@quorumkv/proto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, NotServingError } from './errors.js';
import { startGrpcHost, type GrpcHost } from './grpc-server.js';
import { unary } from './handlers.js';
import { createLogger } from './logger.js';
import { healthCheck } from './testing/health-check.js';
import { startInMemoryTelemetry, type InMemoryTelemetry } from './testing/in-memory-telemetry.js';
import { createTracingClientInterceptor, createTracingServerInterceptor } from './tracing-interceptors.js';
import { withSpan } from './tracing.js';

const logLines: string[] = [];
const sink = new Writable({
  write: (chunk: Buffer, _enc, done) => {
    logLines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
    done();
  },
});
const logger = createLogger({ service: 'coordinator', node: 'c1', destination: sink, level: 'info' });

let otel: InMemoryTelemetry;
let host: GrpcHost;
let traced: kv.KeyValueServiceClient;
let plain: kv.KeyValueServiceClient;

/** Put fails as the key says, so each test picks the outcome it needs. */
const implementation: kv.KeyValueServiceServer = {
  get: unary(logger, () => Promise.resolve(kv.GetResponse.fromPartial({}))),
  put: unary(logger, async (req) => {
    const key = req.key.toString('utf8');
    await withSpan('storage.engine.put', () => Promise.resolve());
    logger.info({ key }, 'put handled');
    if (key === 'unavailable') throw new NotServingError('quorum not reached');
    if (key === 'invalid') throw new InvalidArgumentError('key', 'too long');
    return kv.PutResponse.fromPartial({});
  }),
  delete: unary(logger, () => Promise.resolve(kv.DeleteResponse.fromPartial({}))),
};

beforeAll(async () => {
  otel = startInMemoryTelemetry('coordinator');
  host = await startGrpcHost({
    address: '127.0.0.1:0',
    maxReceiveMessageBytes: 64 * 1024,
    logger,
    services: [{ name: 'quorumkv.kv.v1.KeyValueService', definition: kv.KeyValueServiceService, implementation }],
    interceptors: [createTracingServerInterceptor()],
  });
  host.setServing(true);
  traced = new kv.KeyValueServiceClient(host.address, credentials.createInsecure(), { interceptors: [createTracingClientInterceptor()] });
  plain = new kv.KeyValueServiceClient(host.address, credentials.createInsecure());
});

afterAll(async () => {
  traced.close();
  plain.close();
  await host.shutdown(1_000);
  await otel.telemetry.shutdown();
});

beforeEach(() => {
  otel.reset();
  logLines.length = 0;
});

function put(client: kv.KeyValueServiceClient, key: string, metadata = new Metadata()): Promise<GrpcError | null> {
  return new Promise((resolve) => {
    client.put(kv.PutRequest.fromPartial({ key: Buffer.from(key), value: Buffer.from('v') }), metadata, (err) => resolve(err));
  });
}

describe('tracing interceptors over a real gRPC server', () => {
  it('joins caller, client span, server span and the handler\'s work into one trace', async () => {
    const err = await withSpan('caller', () => put(traced, 'k'));
    expect(err).toBeNull();
    const spans = await otel.finishedSpans();
    const byName = (n: string) => spans.find((s) => s.name === n);
    const caller = byName('caller');
    const client = spans.find((s) => s.name === 'quorumkv.kv.v1.KeyValueService/Put' && s.kind === SpanKind.CLIENT);
    const server = spans.find((s) => s.name === 'quorumkv.kv.v1.KeyValueService/Put' && s.kind === SpanKind.SERVER);
    const engine = byName('storage.engine.put');
    const traceId = caller?.spanContext().traceId;
    expect(traceId).toBeDefined();
    for (const s of [client, server, engine]) expect(s?.spanContext().traceId).toBe(traceId);
    expect(client?.parentSpanContext?.spanId).toBe(caller?.spanContext().spanId);
    expect(server?.parentSpanContext?.spanId).toBe(client?.spanContext().spanId);
    expect(server?.parentSpanContext?.isRemote).toBe(true);
    expect(engine?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(server?.attributes).toMatchObject({
      'rpc.system': 'grpc',
      'rpc.service': 'quorumkv.kv.v1.KeyValueService',
      'rpc.method': 'Put',
      'rpc.grpc.status_code': status.OK,
    });
    expect(server?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('parents the server span on a traceparent sent by any client, and logs carry its ids', async () => {
    const md = new Metadata();
    md.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(await put(plain, 'k', md)).toBeNull();
    const server = (await otel.finishedSpans()).find((s) => s.kind === SpanKind.SERVER);
    expect(server?.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(server?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    const line = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'put handled');
    expect(line).toMatchObject({ service: 'coordinator', node: 'c1', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' });
    // The line was written inside the engine span's parent (the server span), not the engine span.
    expect(line?.['span_id']).toBe(server?.spanContext().spanId);
  });

  it('starts a new trace for a call without trace context', async () => {
    expect(await put(plain, 'k')).toBeNull();
    const server = (await otel.finishedSpans()).find((s) => s.kind === SpanKind.SERVER);
    expect(server).toBeDefined();
    expect(server?.parentSpanContext).toBeUndefined();
  });

  it('marks server failures ERROR and leaves caller mistakes UNSET, with the status code', async () => {
    expect((await put(traced, 'unavailable'))?.code).toBe(status.UNAVAILABLE);
    expect((await put(traced, 'invalid'))?.code).toBe(status.INVALID_ARGUMENT);
    const spans = await otel.finishedSpans();
    const server = spans.filter((s) => s.kind === SpanKind.SERVER);
    const client = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(server.map((s) => [s.attributes['rpc.grpc.status_code'], s.status.code])).toEqual([
      [status.UNAVAILABLE, SpanStatusCode.ERROR],
      [status.INVALID_ARGUMENT, SpanStatusCode.UNSET],
    ]);
    expect(server[0]?.status.message).toBe('UNAVAILABLE: quorum not reached');
    // From the caller's side any non-OK status is a failed call.
    expect(client.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR]);
  });

  it('does not trace health checks', async () => {
    await healthCheck(host.address, [createTracingClientInterceptor()]);
    expect(await otel.finishedSpans()).toEqual([]);
  });

  it('keeps the caller\'s context active outside the call', async () => {
    await put(traced, 'k');
    expect(trace.getSpan(ROOT_CONTEXT)).toBeUndefined();
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
