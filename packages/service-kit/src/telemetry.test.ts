import { trace } from '@opentelemetry/api';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createTraceExporter,
  registeredTelemetry,
  serviceNameForScript,
  startTelemetry,
  TelemetryConfigError,
  telemetrySettingsFromEnv,
} from './telemetry.js';
import { withSpan } from './tracing.js';

describe('telemetrySettingsFromEnv', () => {
  it.each([
    [{}, false],
    [{ OTEL_SERVICE_NAME: 'coordinator' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '   ' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'TRUE' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'false' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }, false],
  ])('%j turns tracing on: %s', (env, enabled) => {
    expect(telemetrySettingsFromEnv(env).enabled).toBe(enabled);
  });

  it('picks the protocol: traces-specific variable, then the general one, then http/protobuf', () => {
    const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    expect(telemetrySettingsFromEnv(base)).toEqual({ enabled: true, exporters: ['otlp'], protocol: 'http/protobuf' });
    expect(telemetrySettingsFromEnv({ ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toMatchObject({ protocol: 'grpc' });
    expect(
      telemetrySettingsFromEnv({ ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }),
    ).toMatchObject({ protocol: 'http/json' });
    expect(telemetrySettingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp, console,otlp' })).toMatchObject({ exporters: ['otlp', 'console'] });
  });

  it('refuses an unsupported value, naming the variable', () => {
    const bad = (env: NodeJS.ProcessEnv): TelemetryConfigError => {
      try {
        telemetrySettingsFromEnv(env);
      } catch (err) {
        if (err instanceof TelemetryConfigError) return err;
      }
      throw new Error('expected a TelemetryConfigError');
    };
    expect(bad({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/xml' })).toMatchObject({
      variable: 'OTEL_EXPORTER_OTLP_PROTOCOL',
      value: 'http/xml',
    });
    expect(bad({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'udp' })).toMatchObject({
      variable: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
    });
    expect(bad({ OTEL_TRACES_EXPORTER: 'zipkin' })).toMatchObject({ variable: 'OTEL_TRACES_EXPORTER', value: 'zipkin' });
  });
});

describe('createTraceExporter', () => {
  it('uses the OTLP exporter package that matches each protocol', () => {
    const load = createRequire(import.meta.url);
    const cases = [
      ['http/protobuf', '@opentelemetry/exporter-trace-otlp-proto'],
      ['http/json', '@opentelemetry/exporter-trace-otlp-http'],
      ['grpc', '@opentelemetry/exporter-trace-otlp-grpc'],
    ] as const;
    for (const [protocol, pkg] of cases) {
      const exporter = createTraceExporter('otlp', protocol);
      const { OTLPTraceExporter } = load(pkg) as { OTLPTraceExporter: new () => unknown };
      expect(exporter).toBeInstanceOf(OTLPTraceExporter);
      void exporter.shutdown();
    }
  });
});

describe('serviceNameForScript', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-svcname-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the service after the package holding the main script, without its scope', () => {
    mkdirSync(join(dir, 'services/coordinator/dist'), { recursive: true });
    writeFileSync(join(dir, 'services/coordinator/package.json'), JSON.stringify({ name: '@quorumkv/coordinator' }));
    expect(serviceNameForScript(join(dir, 'services/coordinator/dist/main.js'))).toBe('coordinator');
  });
});

describe('startTelemetry with no OTEL_* configuration', () => {
  it('stays off: no SDK loaded, spans are non-recording, shutdown is a no-op', async () => {
    for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
    const telemetry = startTelemetry({ serviceName: 'storage-node' });
    expect(telemetry.enabled).toBe(false);
    expect(registeredTelemetry().enabled).toBe(false);
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.some((p) => p.includes('@opentelemetry/api/'))).toBe(true); // the cache is the real one
    expect(loaded.filter((p) => p.includes('@opentelemetry/sdk-node'))).toEqual([]);
    const recording = withSpan('work', (span) => span.isRecording());
    expect(recording).toBe(false);
    expect(trace.getActiveSpan()).toBeUndefined();
    await telemetry.shutdown();
  });
});
