import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type LoggerOptions } from './logger.js';
import { startInMemoryTelemetry, type InMemoryTelemetry } from './testing/in-memory-telemetry.js';
import { withSpan } from './tracing.js';

let otel: InMemoryTelemetry;
beforeAll(() => {
  otel = startInMemoryTelemetry('log-test');
});
afterAll(async () => {
  await otel.telemetry.shutdown();
});

/** A logger writing to memory, and the parsed lines written so far. */
function memoryLogger(options: Omit<LoggerOptions, 'destination'>): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  // A synchronous sink: each line is in `chunks` as soon as the log call returns.
  const sink = new Writable({
    write: (c: Buffer, _enc, done) => {
      chunks.push(c.toString('utf8'));
      done();
    },
  });
  const log = createLogger({ ...options, destination: sink });
  return {
    log,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('trace ids in log lines', () => {
  it('puts trace_id and span_id of the active span on lines written inside it, and nothing outside', () => {
    const { log, lines } = memoryLogger({ service: 'storage-node', node: 'n1' });
    log.info('before');
    const ids = withSpan('engine.put', (span) => {
      log.info('inside');
      return span.spanContext();
    });
    log.info('after');
    const [before, inside, after] = lines();
    expect(inside).toMatchObject({ service: 'storage-node', node: 'n1', msg: 'inside', trace_id: ids.traceId, span_id: ids.spanId });
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    for (const line of [before, after]) {
      expect(line).not.toHaveProperty('trace_id');
      expect(line).not.toHaveProperty('span_id');
    }
  });

  it('follows the span across awaits', async () => {
    const { log, lines } = memoryLogger({ service: 'coordinator' });
    const traceId = await withSpan('coordinator.put', async (span) => {
      await new Promise((r) => setImmediate(r));
      log.warn('after an await');
      return span.spanContext().traceId;
    });
    expect(lines()[0]).toMatchObject({ trace_id: traceId, level: 40 });
  });

  it('can be turned off, and merges a caller\'s own mixin after the trace fields', () => {
    const off = memoryLogger({ service: 's', traceContext: false });
    const mixed = memoryLogger({ service: 's', mixin: () => ({ shard: 7 }) });
    withSpan('x', () => {
      off.log.info('a');
      mixed.log.info('b');
    });
    expect(off.lines()[0]).not.toHaveProperty('trace_id');
    expect(mixed.lines()[0]).toMatchObject({ shard: 7, trace_id: expect.stringMatching(/^[0-9a-f]{32}$/) as unknown });
  });

  it('takes its level from LOG_LEVEL', () => {
    const saved = process.env['LOG_LEVEL'];
    process.env['LOG_LEVEL'] = 'warn';
    try {
      const { log, lines } = memoryLogger({ service: 's' });
      log.info('dropped');
      log.warn('kept');
      expect(lines().map((l) => l['msg'])).toEqual(['kept']);
    } finally {
      if (saved === undefined) delete process.env['LOG_LEVEL'];
      else process.env['LOG_LEVEL'] = saved;
    }
  });
});
