import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTelemetry } from './telemetry.js';
import { startOtlpReceiver, type OtlpReceiver } from './testing/otlp-receiver.js';
import { withSpan } from './tracing.js';

let receiver: OtlpReceiver;
let endpoint: string;
const traceExports = () => receiver.requests.filter((r) => r.path === '/v1/traces');
let seen = 0;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  endpoint = receiver.endpoint;
});

afterAll(async () => {
  await receiver.close();
});

let savedEnv: NodeJS.ProcessEnv;
beforeEach(() => {
  savedEnv = { ...process.env };
  for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
  seen = traceExports().length;
});
afterEach(() => {
  process.env = savedEnv;
});

describe('startTelemetry exporting to a real OTLP/HTTP receiver', () => {
  it('sends spans as OTLP/JSON to $OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces when the protocol is http/json', async () => {
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = endpoint;
    process.env['OTEL_EXPORTER_OTLP_PROTOCOL'] = 'http/json';
    const telemetry = startTelemetry({ serviceName: 'coordinator' });
    expect(telemetry.enabled).toBe(true);
    const ids = withSpan('coordinator.put', (span) => span.spanContext(), { attributes: { 'quorumkv.key_bytes': 3 } });
    await telemetry.shutdown(); // flushes the batch

    const exports = traceExports().slice(seen);
    expect(exports.length).toBeGreaterThanOrEqual(1);
    expect(exports[0]?.contentType).toMatch(/^application\/json/);
    const span = receiver.spans().find((s) => s.name === 'coordinator.put');
    expect(span).toMatchObject({
      serviceName: 'coordinator',
      scope: '@quorumkv/service-kit',
      traceId: ids.traceId,
      spanId: ids.spanId,
      parentSpanId: '',
      kind: 1, // OTLP SPAN_KIND_INTERNAL
      attributes: { 'quorumkv.key_bytes': 3 },
    });
  });

  it('sends protobuf by default, and OTEL_SERVICE_NAME wins over the name in code', async () => {
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = endpoint;
    process.env['OTEL_SERVICE_NAME'] = 'rate-limiter-eu';
    const telemetry = startTelemetry({ serviceName: 'rate-limiter' });
    const ids = withSpan('ratelimit.check', (span) => span.spanContext());
    await telemetry.shutdown();

    const exports = traceExports().slice(seen);
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
    expect(traceExports().slice(seen)).toEqual([]);
  });

  it('resolves shutdown and warns when the spans cannot be delivered (collector down)', async () => {
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = 'http://127.0.0.1:1'; // nothing listens on port 1
    process.env['OTEL_EXPORTER_OTLP_TIMEOUT'] = '300';
    const telemetry = startTelemetry({ serviceName: 'coordinator' });
    withSpan('lost', () => undefined);
    const warnings: unknown[] = [];
    await expect(telemetry.shutdown({ warn: (obj: unknown) => void warnings.push(obj) })).resolves.toBeUndefined();
    expect(warnings).toHaveLength(1);
  });
});
