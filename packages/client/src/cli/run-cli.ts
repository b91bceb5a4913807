import { CoordinatorUnreachableError } from '../errors.js';
import { QuorumKvClient, type QuorumKvClientOptions } from '../kv-client.js';
import { describeTlsDiagnosis, diagnoseTls } from '../tls-diagnosis.js';
import { type LoadedTls, loadTls } from '../tls-options.js';
import { type AddressDiagnosis, diagnoseAddress, speaksTls } from './address.js';
import type { Command, CommandContext } from './command.js';
import { describeFailure } from './failure.js';
import { toJsonText } from './format.js';
import { formatCommandHelp, formatGeneralHelp } from './help.js';
import { type ParsedCommandLine, parseCommandLine } from './parse.js';

/** Where `qkv` writes and what it reads from its environment; injected so tests capture output. */
export interface CliIo {
  /** Text, or bytes written as they are (`get --format raw`). */
  stdout(text: string | Uint8Array): void;
  stderr(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Everything {@link runCli} needs. */
export interface RunCliOptions extends CliIo {
  /** The registry: every command `qkv` knows. */
  readonly commands: readonly Command[];
  /** Extra SDK options, for tests (injected sleep and randomness). */
  readonly clientOptions?: Omit<QuorumKvClientOptions, 'address' | 'deadlineMs'>;
}

/**
 * Runs one `qkv` command line and returns the exit status: 0 on success, 1 when the call failed,
 * 2 for a bad command line. Output goes to `stdout`; a failure is one line on `stderr`.
 */
export async function runCli(argv: readonly string[], options: RunCliOptions): Promise<number> {
  let parsed: ParsedCommandLine;
  try {
    parsed = parseCommandLine(argv, options.commands, options.env);
  } catch (err: unknown) {
    const failure = describeFailure(err, undefined, '');
    options.stderr(`${failure.line}\n`);
    return failure.exitCode;
  }
  if (parsed.kind === 'help') {
    const text = parsed.command ? formatCommandHelp(parsed.command) : formatGeneralHelp(options.commands);
    if (parsed.requested) options.stdout(`${text}\n`);
    else options.stderr(`${text}\n`);
    return parsed.requested ? 0 : 2;
  }
  const { command, input, globals } = parsed;
  let tls: LoadedTls | undefined;
  try {
    // Now, before any command runs: a folder that cannot be used is a usage error.
    tls = globals.tlsDir === undefined ? undefined : loadTls({ dir: globals.tlsDir }, '--tls-dir');
  } catch (err: unknown) {
    const failure = describeFailure(err, command.name, globals.address);
    options.stderr(`${failure.line}\n`);
    return failure.exitCode;
  }
  let client: QuorumKvClient | undefined;
  const ctx: CommandContext = {
    json: globals.json,
    address: globals.address,
    client: () =>
      (client ??= new QuorumKvClient({
        ...options.clientOptions,
        address: globals.address,
        deadlineMs: globals.timeoutMs,
        ...(globals.caller === undefined ? {} : { caller: globals.caller }),
        ...(globals.tlsDir === undefined ? {} : { tls: { dir: globals.tlsDir } }),
      })),
    print: (text) => options.stdout(`${text}\n`),
    write: (bytes) => options.stdout(bytes),
    printJson: (value) => options.stdout(`${toJsonText(value)}\n`),
  };
  try {
    await command.run(input, ctx);
    return 0;
  } catch (err: unknown) {
    // No connection: look at what answers there, to say more than "cannot reach".
    let diagnosis: AddressDiagnosis | undefined;
    let tlsProblem: string | undefined;
    if (err instanceof CoordinatorUnreachableError) {
      const found = tls === undefined ? undefined : await diagnoseTls(globals.address, tls);
      if (found !== undefined && found.kind !== 'ok' && found.kind !== 'refused') tlsProblem = describeTlsDiagnosis(found, globals.address, tls as LoadedTls);
      else diagnosis = found?.kind === 'refused' ? 'refused' : tls === undefined ? await diagnoseAddress(globals.address) : undefined;
      if (diagnosis === 'other' && (await speaksTls(globals.address))) diagnosis = 'tls';
    }
    const failure = describeFailure(err, command.name, globals.address, diagnosis, tlsProblem);
    options.stderr(`${failure.line}\n`);
    return failure.exitCode;
  } finally {
    client?.close();
  }
}
