import { destination as pinoDestination, pino, stdTimeFunctions, type Logger } from 'pino';
import { traceLogMixin } from './log-context.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Service name, on every line as `service`. */
  readonly service: string;
  /** Node identity (storage node id, replica id…), on every line as `node`. */
  readonly node?: string;
  /** Level; defaults to LOG_LEVEL or `info`. */
  readonly level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read them. */
  readonly destination?: NodeJS.WritableStream;
  /** Adds fields to every line at the time it is written; merged after the trace fields. */
  readonly mixin?: () => Record<string, unknown>;
  /**
   * Adds `trace_id` and `span_id` of the active span to every line written while one is
   * active (see {@link traceLogMixin}). @default true
   */
  readonly traceContext?: boolean;
}

function lineMixin(options: LoggerOptions): (() => Record<string, unknown>) | undefined {
  const own = options.mixin;
  if (options.traceContext === false) return own;
  if (own === undefined) return traceLogMixin;
  return () => ({ ...traceLogMixin(), ...own() });
}

/**
 * JSON logs (pino), one object per line, with the service and node on every line, and the
 * trace and span ids on lines written while serving a traced request.
 */
export function createLogger(options: LoggerOptions): Logger {
  const base: Record<string, unknown> = { service: options.service };
  if (options.node !== undefined) base['node'] = options.node;
  const mixin = lineMixin(options);
  return pino(
    {
      level: options.level ?? process.env['LOG_LEVEL'] ?? 'info',
      base,
      timestamp: stdTimeFunctions.isoTime,
      ...(mixin ? { mixin } : {}),
    },
    options.destination ?? pinoDestination({ sync: false }),
  );
}
