import { setTimeout as delay } from 'node:timers/promises';
import { CoordinatorUnreachableError, MembershipUnreachableError } from '../errors.js';
import { QuorumKvClient, type QuorumKvClientOptions } from '../kv-client.js';
import { MembershipClient } from '../membership-client.js';
import { diagnoseAddress } from './address.js';
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
  let client: QuorumKvClient | undefined;
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
      })),
    membership: (address) => {
      const m = new MembershipClient({
        address,
        deadlineMs: globals.timeoutMs,
        ...(options.clientOptions?.sleep ? { sleep: options.clientOptions.sleep } : {}),
        ...(options.clientOptions?.random ? { random: options.clientOptions.random } : {}),
      });
      membershipClients.push(m);
      return m;
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
    const unreachable = err instanceof CoordinatorUnreachableError ? globals.address : err instanceof MembershipUnreachableError ? err.address : undefined;
    const diagnosis = unreachable !== undefined ? await diagnoseAddress(unreachable) : undefined;
    const failure = describeFailure(err, command.name, globals.address, diagnosis);
    options.stderr(`${failure.line}\n`);
    return failure.exitCode;
  } finally {
    client?.close();
    for (const m of membershipClients) m.close();
  }
}
