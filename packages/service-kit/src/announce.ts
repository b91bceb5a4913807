import type { Logger } from 'pino';

/**
 * Logs the `listening` line with the bound address. It is written at info level even when
 * LOG_LEVEL is higher (warn, error): launchers, tests and operators read this one line to learn
 * the real port, so a quiet log level must not hide it.
 */
export function announceListening(logger: Logger, fields: { address: string } & Record<string, unknown>): void {
  const always = logger.isLevelEnabled('info') ? logger : logger.child({}, { level: 'info' });
  always.info(fields, 'listening');
}
