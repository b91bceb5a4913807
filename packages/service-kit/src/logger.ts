import { destination as pinoDestination, pino, stdTimeFunctions, type Logger } from 'pino';

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
  /** Adds fields to every line at the time it is written (trace ids). */
  readonly mixin?: () => Record<string, unknown>;
}

/** JSON logs (pino), one object per line, with the service and node on every line. */
export function createLogger(options: LoggerOptions): Logger {
  const base: Record<string, unknown> = { service: options.service };
  if (options.node !== undefined) base['node'] = options.node;
  return pino(
    {
      level: options.level ?? process.env['LOG_LEVEL'] ?? 'info',
      base,
      timestamp: stdTimeFunctions.isoTime,
      ...(options.mixin ? { mixin: options.mixin } : {}),
    },
    options.destination ?? pinoDestination({ sync: false }),
  );
}
