import type { Logger } from 'pino';

/** Options of {@link onShutdownSignal}. */
export interface ShutdownSignalOptions {
  /**
   * When the drain has not finished this long after the signal, log an error and exit 1, so a
   * stuck close (an engine, an exporter whose collector is gone) cannot keep the process past
   * its grace period. @default no bound
   */
  readonly exitAfterMs?: number;
}

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits 0 (1 if stopping failed or outlived
 * `options.exitAfterMs`). A second signal exits at once.
 */
export function onShutdownSignal(logger: Logger, stop: (signal: string) => Promise<void>, options: ShutdownSignalOptions = {}): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal; exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    if (options.exitAfterMs !== undefined) {
      setTimeout(() => {
        logger.error({ exitAfterMs: options.exitAfterMs }, 'shutdown took too long; exiting');
        logger.flush();
        process.exit(1);
      }, options.exitAfterMs).unref();
    }
    stop(signal).then(
      () => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
