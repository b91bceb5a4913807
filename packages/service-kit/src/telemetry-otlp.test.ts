import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTelemetry } from './telemetry.js';
import { withSpan } from './tracing.js';

/** One OTLP/HTTP export request as the receiver saw it. */
interface Received {
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
}

// A minimal OTLP/HTTP receiver: accepts POST /v1/traces and answers an empty success in the
// encoding it was sent (an empty ExportTraceServiceResponse is zero protobuf bytes or `{}`).
const received: Received[] = [];
let receiver: Server;
let endpoint: string;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contentType = req.headers['content-type'] ?? '';
      received.push({ path: req.url ?? '', contentType, body: Buffer.concat(chunks) });
      const json = contentType.startsWith('application/json');
      res.writeHead(req.method === 'POST' && req.url === '/v1/traces' ? 200 : 404, {
        'content-type': json ? 'application/json' : 'application/x-protobuf',
      });
      res.end(json ? '{}' : undefined);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

let savedEnv: NodeJS.ProcessEnv;
beforeEach(() => {
  savedEnv = { ...process.env };
  for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
  received.length = 0;
});
afterEach(() => {
  process.env = savedEnv;
});

interface OtlpJsonKeyValue {
  key: string;
  value: { stringValue?: string };
}
interface OtlpJsonRequest {
  resourceSpans: {
    resource: { attributes: OtlpJsonKeyValue[] };
    scopeSpans: { scope: { name: string }; spans: { name: string; traceId: string; spanId: string; attributes: OtlpJsonKeyValue[] }[] }[];
  }[];
}

describe('startTelemetry exporting to a real OTLP/HTTP receiver', () => {
  it('sends spans as OTLP/JSON to $OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces when the protocol is http/json', async () => {
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = endpoint;
    process.env['OTEL_EXPORTER_OTLP_PROTOCOL'] = 'http/json';
    const telemetry = startTelemetry({ serviceName: 'coordinator' });
    expect(telemetry.enabled).toBe(true);
    const ids = withSpan('coordinator.put', (span) => span.spanContext(), { attributes: { 'quorumkv.key_bytes': 3 } });
    await telemetry.shutdown(); // flushes the batch

    const exports = received.filter((r) => r.path === '/v1/traces');
    expect(exports.length).toBeGreaterThanOrEqual(1);
    expect(exports[0]?.contentType).toMatch(/^application\/json/);
    const body = JSON.parse(exports[0]?.body.toString('utf8') ?? '') as OtlpJsonRequest;
    const rs = body.resourceSpans[0];
    expect(rs?.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'coordinator' } });
    const span = rs?.scopeSpans.flatMap((s) => s.spans).find((s) => s.name === 'coordinator.put');
    expect(span?.traceId).toBe(ids.traceId);
    expect(span?.spanId).toBe(ids.spanId);
    expect(rs?.scopeSpans[0]?.scope.name).toBe('@quorumkv/service-kit');
  });

  it('sends protobuf by default, and OTEL_SERVICE_NAME wins over the name in code', async () => {
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = endpoint;
    process.env['OTEL_SERVICE_NAME'] = 'rate-limiter-eu';
    const telemetry = startTelemetry({ serviceName: 'rate-limiter' });
    const ids = withSpan('ratelimit.check', (span) => span.spanContext());
    await telemetry.shutdown();

    const exports = received.filter((r) => r.path === '/v1/traces');
    expect(exports.length).toBeGreaterThanOrEqual(1);
    expect(exports[0]?.contentType).toBe('application/x-protobuf');
    const body = Buffer.concat(exports.map((e) => e.body));
    // Protobuf carries ids as raw bytes and strings as UTF-8: find them in the encoded request.
    expect(body.includes(Buffer.from(ids.traceId, 'hex'))).toBe(true);
    expect(body.includes(Buffer.from(ids.spanId, 'hex'))).toBe(true);
    expect(body.includes(Buffer.from('ratelimit.check'))).toBe(true);
    expect(body.includes(Buffer.from('rate-limiter-eu'))).toBe(true);
  });

  it('honours OTEL_TRACES_SAMPLER: always_off records and exports nothing', async () => {
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = endpoint;
    process.env['OTEL_TRACES_SAMPLER'] = 'always_off';
    const telemetry = startTelemetry({ serviceName: 'coordinator' });
    expect(withSpan('dropped', (span) => span.isRecording())).toBe(false);
    await telemetry.shutdown();
    expect(received.filter((r) => r.path === '/v1/traces')).toEqual([]);
  });
});
