import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTelemetry, type Telemetry } from '../telemetry.js';

/** Telemetry that keeps finished spans in memory, for tests. */
export interface InMemoryTelemetry {
  readonly telemetry: Telemetry;
  readonly exporter: InMemorySpanExporter;
  /** Every span finished so far, after waiting for exports in flight. */
  finishedSpans(): Promise<ReadableSpan[]>;
  /** Forgets the spans finished so far. */
  reset(): void;
}

/**
 * Starts the real SDK (context manager, W3C propagator, tracer provider) with an in-memory
 * exporter instead of the OTEL_* exporters. Shut it down in `afterAll`.
 */
export function startInMemoryTelemetry(serviceName = 'test'): InMemoryTelemetry {
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor(exporter);
  const telemetry = startTelemetry({ serviceName, spanProcessors: [processor] });
  return {
    telemetry,
    exporter,
    finishedSpans: async () => {
      await processor.forceFlush();
      return exporter.getFinishedSpans();
    },
    reset: () => exporter.reset(),
  };
}

/** Resolves once `condition()` holds, polling every few ms; rejects after `timeoutMs`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
