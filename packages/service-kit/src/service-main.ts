import type { Logger } from 'pino';
import { ConfigError } from './config.js';
import { StartupError } from './errors.js';
import { TransportSecurity } from './tls-credentials.js';
import { checkTlsFiles, tlsFilesOf, type TlsSettingValues } from './tls-settings.js';

/**
 * The few lines every service's `main.ts` starts and ends with, in one place: reading the
 * settings (help → exit 0, a bad value → one line naming the setting and exit 2) and running
 * `main` (a failure to start → its message and exit 1).
 */

/**
 * Exits 2 with `command: message` — for a problem the operator must fix before starting. A
 * settings problem also points at `--help`; pass `settingsHint: false` for anything else.
 */
export function refuseToStart(command: string, message: string, options: { settingsHint?: boolean } = {}): never {
  const hint = (options.settingsHint ?? true) && !message.includes('--help') ? `\n(run ${command} --help for the settings)` : '';
  process.stderr.write(`${command}: ${message}${hint}\n`);
  process.exit(2);
}

/** Error classes that mean "bad settings" (exit 2), besides {@link ConfigError}. */
export type SettingsErrorClass = abstract new (...args: never[]) => Error;

/**
 * Reads the settings with `read`. `--help` prints `help()` and exits 0; a {@link ConfigError}
 * (or one of `settingsErrors`) exits 2 with its message.
 */
export function settingsOrExit<C>(
  command: string,
  read: () => { help: true } | { help: false; config: C },
  help: () => string,
  settingsErrors: readonly SettingsErrorClass[] = [],
): C {
  let result;
  try {
    result = read();
  } catch (err) {
    if (err instanceof ConfigError || settingsErrors.some((cls) => err instanceof cls)) refuseToStart(command, (err as Error).message);
    throw err;
  }
  if (result.help) {
    process.stdout.write(help() + '\n');
    process.exit(0);
  }
  return result.config;
}

/** Runs a service's `main`; if starting fails, prints why and exits 1. */
export function runService(command: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    // A condition the operator can fix gets its message alone; anything else keeps its stack.
    const detail = err instanceof StartupError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`${command}: failed to start: ${detail}\n`);
    process.exit(1);
  });
}

/**
 * The transport security a service's TLS settings ask for: plain text when no file is given,
 * else TLS from files checked now (a file that cannot be used exits 2 naming the setting). Logs
 * the identity, the CA count and the warnings (expired, another CA, another identity than
 * `identity`). Close it on shutdown.
 */
export function transportSecurityOrExit(command: string, config: TlsSettingValues, options: { readonly logger: Logger; readonly identity?: string }): TransportSecurity {
  let files;
  let summary;
  try {
    files = tlsFilesOf(config);
    summary = files === undefined ? undefined : checkTlsFiles(files, options.identity === undefined ? {} : { expectedIdentity: options.identity });
  } catch (err) {
    if (err instanceof ConfigError) refuseToStart(command, err.message);
    throw err;
  }
  if (files === undefined || summary === undefined) return TransportSecurity.plain();
  options.logger.info({ identity: summary.identity, notAfter: summary.notAfter, cas: summary.caCount, files }, 'mutual TLS on');
  for (const warning of summary.warnings) options.logger.warn(warning);
  return TransportSecurity.tls(files, { logger: options.logger, refreshMs: config.tlsRefreshMs });
}
