import { setTimeout as delay } from 'node:timers/promises';
import { CoordinatorUnreachableError, MembershipUnreachableError } from '../errors.js';
import { QuorumKvClient, type QuorumKvClientOptions } from '../kv-client.js';
import { AntiEntropyClient, AntiEntropyUnreachableError } from '../anti-entropy-client.js';
import { MembershipClient } from '../membership-client.js';
import { describeTlsDiagnosis, diagnoseTls } from '../tls-diagnosis.js';
import { type LoadedTls, loadTls, tlsCredentials } from '../tls-options.js';
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
  /** Whether stdout is a terminal. @default false */
  readonly interactive?: boolean;
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
  // The membership service and the anti-entropy worker take the same files as the coordinator.
  let secured: Partial<ReturnType<typeof tlsCredentials>> = {};
  try {
    // Now, before any command runs: a folder that cannot be used is a usage error.
    tls = globals.tlsDir === undefined ? undefined : loadTls({ dir: globals.tlsDir }, '--tls-dir');
    if (tls !== undefined) secured = tlsCredentials(tls);
  } catch (err: unknown) {
    const failure = describeFailure(err, command.name, globals.address);
    options.stderr(`${failure.line}\n`);
    return failure.exitCode;
  }
  let client: QuorumKvClient | undefined;
  const antiEntropyClients: AntiEntropyClient[] = [];
  const membershipClients: MembershipClient[] = [];
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
    membership: (address) => {
      const m = new MembershipClient({
        address,
        deadlineMs: globals.timeoutMs,
        ...secured,
        ...(options.clientOptions?.sleep ? { sleep: options.clientOptions.sleep } : {}),
        ...(options.clientOptions?.random ? { random: options.clientOptions.random } : {}),
      });
      membershipClients.push(m);
      return m;
    },
    antiEntropy: (address) => {
      const a = new AntiEntropyClient({ address, ...secured });
      antiEntropyClients.push(a);
      return a;
    },
    env: options.env,
    interactive: options.interactive ?? false,
    sleep: options.clientOptions?.sleep ?? ((ms) => delay(ms)),
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
    const unreachable =
      err instanceof CoordinatorUnreachableError
        ? globals.address
        : err instanceof MembershipUnreachableError || err instanceof AntiEntropyUnreachableError
          ? err.address
          : undefined;
    if (unreachable !== undefined) {
      const found = tls === undefined ? undefined : await diagnoseTls(unreachable, tls);
      if (found !== undefined && found.kind !== 'ok' && found.kind !== 'refused') tlsProblem = describeTlsDiagnosis(found, unreachable, tls as LoadedTls);
      else diagnosis = found?.kind === 'refused' ? 'refused' : tls === undefined ? await diagnoseAddress(unreachable) : undefined;
      if (diagnosis === 'other' && (await speaksTls(unreachable))) diagnosis = 'tls';
    }
    const failure = describeFailure(err, command.name, globals.address, diagnosis, tlsProblem);
    options.stderr(`${failure.line}\n`);
    return failure.exitCode;
  } finally {
    client?.close();
    for (const m of membershipClients) m.close();
    for (const a of antiEntropyClients) a.close();
  }
}
