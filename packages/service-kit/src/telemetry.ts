import { context, propagation, trace } from '@opentelemetry/api';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type * as SdkNode from '@opentelemetry/sdk-node';
import type * as SdkTraceBase from '@opentelemetry/sdk-trace-base';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type * as OtlpGrpc from '@opentelemetry/exporter-trace-otlp-grpc';
import type * as OtlpHttp from '@opentelemetry/exporter-trace-otlp-http';
import type * as OtlpProto from '@opentelemetry/exporter-trace-otlp-proto';

// The SDK and exporters are loaded only when telemetry is on: @opentelemetry/sdk-node alone
// takes about half a second to load, which a service with tracing off should not pay.
// They are CommonJS, so a synchronous require keeps startTelemetry synchronous.
const requireLazily = createRequire(import.meta.url);

/** OTLP transports, as spelled in OTEL_EXPORTER_OTLP_PROTOCOL. */
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';
/** Trace exporters quorumkv supports in OTEL_TRACES_EXPORTER. */
export type TracesExporterName = 'otlp' | 'console';

/** What the OTEL_* environment asks for. */
export type TelemetrySettings =
  | { readonly enabled: false; readonly reason: string }
  | { readonly enabled: true; readonly exporters: readonly TracesExporterName[]; readonly protocol: OtlpProtocol };

/** An OTEL_* variable holds a value quorumkv cannot honour; the service refuses to start. */
export class TelemetryConfigError extends Error {
  override readonly name = 'TelemetryConfigError';
  constructor(
    readonly variable: string,
    readonly value: string,
    readonly expected: readonly string[],
  ) {
    super(`${variable}: unsupported value "${value}" (expected one of: ${expected.join(', ')})`);
  }
}

const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];
const EXPORTERS: readonly TracesExporterName[] = ['otlp', 'console'];

function nonEmpty(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/**
 * Reads the standard variables: off when OTEL_SDK_DISABLED is true or OTEL_TRACES_EXPORTER is
 * `none`; on when OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
 * OTEL_TRACES_EXPORTER is set; off otherwise. The protocol comes from
 * OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else `http/protobuf`.
 * @throws TelemetryConfigError naming the variable with an unsupported value.
 */
export function telemetrySettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TelemetrySettings {
  if (nonEmpty(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') {
    return { enabled: false, reason: 'OTEL_SDK_DISABLED=true' };
  }
  const listed = (nonEmpty(env, 'OTEL_TRACES_EXPORTER') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (listed.includes('none')) return { enabled: false, reason: 'OTEL_TRACES_EXPORTER=none' };
  const endpoint = nonEmpty(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? nonEmpty(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (listed.length === 0 && endpoint === undefined) {
    return { enabled: false, reason: 'no OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_TRACES_EXPORTER' };
  }
  const exporters = listed.length === 0 ? ['otlp'] : [...new Set(listed)];
  for (const e of exporters) {
    if (!(EXPORTERS as readonly string[]).includes(e)) throw new TelemetryConfigError('OTEL_TRACES_EXPORTER', e, EXPORTERS);
  }
  const protocolVar = nonEmpty(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = nonEmpty(env, protocolVar) ?? 'http/protobuf';
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) throw new TelemetryConfigError(protocolVar, protocol, PROTOCOLS);
  return { enabled: true, exporters: exporters as TracesExporterName[], protocol: protocol as OtlpProtocol };
}

/**
 * Builds the exporter for one OTEL_TRACES_EXPORTER entry. Each OTLP exporter reads its own
 * endpoint, headers, timeout and compression variables (OTEL_EXPORTER_OTLP_[TRACES_]*).
 */
export function createTraceExporter(name: TracesExporterName, protocol: OtlpProtocol): SpanExporter {
  if (name === 'console') {
    const { ConsoleSpanExporter } = requireLazily('@opentelemetry/sdk-trace-base') as typeof SdkTraceBase;
    return new ConsoleSpanExporter();
  }
  switch (protocol) {
    case 'grpc':
      return new (requireLazily('@opentelemetry/exporter-trace-otlp-grpc') as typeof OtlpGrpc).OTLPTraceExporter();
    case 'http/json':
      return new (requireLazily('@opentelemetry/exporter-trace-otlp-http') as typeof OtlpHttp).OTLPTraceExporter();
    case 'http/protobuf':
      return new (requireLazily('@opentelemetry/exporter-trace-otlp-proto') as typeof OtlpProto).OTLPTraceExporter();
  }
}

/** Options of {@link startTelemetry}. */
export interface TelemetryOptions {
  /** `service.name`, unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES names one (env wins). */
  readonly serviceName: string;
  /**
   * Where spans go instead of the exporters the environment names; turns telemetry on whatever
   * the environment says. For tests (an in-memory exporter) and embedders.
   */
  readonly spanProcessors?: readonly SpanProcessor[];
}

/** Running telemetry. */
export interface Telemetry {
  /** Whether spans are recorded and exported. When false every tracing helper is a no-op. */
  readonly enabled: boolean;
  /**
   * Flushes spans still queued, stops the SDK and unregisters it. Call it last in the SIGTERM
   * drain, after the gRPC server stopped. Idempotent. Never rejects: spans that cannot be
   * delivered (collector down, export timeout) must not turn a clean stop into a failed one, so
   * the failure is logged as a warning on `logger` when one is given.
   */
  shutdown(logger?: Pick<Logger, 'warn'>): Promise<void>;
}

const DISABLED: Telemetry = { enabled: false, shutdown: () => Promise.resolve() };
let current: Telemetry | undefined;

/** The telemetry started in this process (by `telemetry-register` or `startTelemetry`), or a disabled one. */
export function registeredTelemetry(): Telemetry {
  return current ?? DISABLED;
}

/** Name of the nearest package.json above `script`, without its npm scope. */
export function serviceNameForScript(script: string | undefined): string {
  let dir = script === undefined ? process.cwd() : dirname(script);
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (typeof pkg.name === 'string' && pkg.name !== '') return pkg.name.replace(/^@[^/]+\//, '');
    } catch {
      // No readable package.json here; keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown_service:node';
    dir = parent;
  }
}

function envNamesService(env: NodeJS.ProcessEnv): boolean {
  return nonEmpty(env, 'OTEL_SERVICE_NAME') !== undefined || /(^|,)\s*service\.name\s*=/.test(env['OTEL_RESOURCE_ATTRIBUTES'] ?? '');
}

/**
 * Starts the OpenTelemetry SDK for traces, configured by the OTEL_* environment only (see
 * {@link telemetrySettingsFromEnv}; sampler from OTEL_TRACES_SAMPLER[_ARG], propagators from
 * OTEL_PROPAGATORS, default W3C trace context + baggage; batching from OTEL_BSP_*). Metrics stay
 * with Prometheus (`createServiceMetrics`) and logs with pino, so the SDK gets no metric reader
 * and no log processor. No auto-instrumentation: quorumkv makes its spans itself.
 *
 * Once per process: a second call returns the running telemetry.
 * @throws TelemetryConfigError when an OTEL_* variable has a value quorumkv cannot honour.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (current !== undefined) return current;
  const env = process.env;
  let processors: SpanProcessor[];
  if (options.spanProcessors !== undefined) {
    processors = [...options.spanProcessors];
  } else {
    const settings = telemetrySettingsFromEnv(env);
    if (!settings.enabled) return DISABLED;
    const { BatchSpanProcessor } = requireLazily('@opentelemetry/sdk-trace-base') as typeof SdkTraceBase;
    processors = settings.exporters.map((name) => new BatchSpanProcessor(createTraceExporter(name, settings.protocol)));
  }
  const { NodeSDK } = requireLazily('@opentelemetry/sdk-node') as typeof SdkNode;
  const sdk = new NodeSDK({
    ...(envNamesService(env) ? {} : { serviceName: options.serviceName }),
    spanProcessors: processors,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  let stopping: Promise<unknown> | undefined;
  const telemetry: Telemetry = {
    enabled: true,
    shutdown: (logger) => {
      stopping ??= sdk
        .shutdown()
        .then(
          () => undefined,
          (err: unknown) => err,
        )
        .then((err) => {
          // Unregister so the process (or the next test) is back to the no-op API.
          trace.disable();
          propagation.disable();
          context.disable();
          if (current === telemetry) current = undefined;
          return err;
        });
      return stopping.then((err) => {
        if (err !== undefined) logger?.warn({ err }, 'telemetry shutdown: queued spans were not all exported');
      });
    },
  };
  current = telemetry;
  return telemetry;
}
