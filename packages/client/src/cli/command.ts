import type { QuorumKvClient } from '../kv-client.js';
import type { AntiEntropyClient } from '../anti-entropy-client.js';
import type { MembershipClient } from '../membership-client.js';

/** One option of a command: `--name VALUE` (string) or `--name` (boolean). */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** A one-letter alias (`-h`). */
  readonly short?: string;
  /** Placeholder shown in help for a string option (`N`, `BASE64`). */
  readonly valueName?: string;
  readonly description: string;
}

/** The parsed arguments a command runs with (global options already taken out). */
export interface CommandInput {
  /** Positional arguments after the command name, checked against {@link Command.args}. */
  readonly positionals: readonly string[];
  /** The value of a string option, when given. */
  string(name: string): string | undefined;
  /** Whether a boolean option was given. */
  flag(name: string): boolean;
}

/** What a command may use while it runs. */
export interface CommandContext {
  /** `--json`: print one machine-readable JSON document instead of text. */
  readonly json: boolean;
  /** The coordinator address (`--addr`, `QKV_ADDR` or the default). */
  readonly address: string;
  /** The SDK client, created on first use (a command that needs no server never dials one). */
  client(): QuorumKvClient;
  /** A client of the membership service at `address`, closed when the command ends. */
  membership(address: string): MembershipClient;
  /** A client of the anti-entropy worker's admin API at `address`, closed when the command ends. */
  antiEntropy(address: string): AntiEntropyClient;
  /** The environment `qkv` runs in (`QKV_MEMBERSHIP`…). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stdout is a terminal (progress bars, screen refreshes). */
  readonly interactive: boolean;
  /** Waits `ms` (a refresh interval). */
  sleep(ms: number): Promise<void>;
  /** Writes text to stdout, newline added. */
  print(text: string): void;
  /** Writes bytes to stdout exactly, nothing added (`get --format raw`). */
  write(bytes: Uint8Array): void;
  /** Writes `value` to stdout as JSON (bigints as numbers when exact, else strings). */
  printJson(value: unknown): void;
}

/**
 * A `qkv` subcommand. Each lives in its own file under `cli/commands/` and is listed once in the
 * registry in `cli/main.ts`.
 */
export interface Command {
  /** What the user types: `qkv <name> ...`. */
  readonly name: string;
  /** One line for `qkv --help`. */
  readonly summary: string;
  /**
   * Positional arguments for usage and checking: `KEY` is required, `[KEY]` optional, `PATH...`
   * one or more.
   */
  readonly args: readonly string[];
  /** Command options besides the global ones (`--addr`, `--timeout`, `--json`, `--help`). */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Paragraphs shown in `qkv <name> --help` under the usage line. */
  readonly description: string;
  /** Runs the command. Throws {@link UsageError} for bad arguments, anything else for failures. */
  run(input: CommandInput, ctx: CommandContext): Promise<void>;
}

/** The command line is wrong: `qkv` prints this with a hint to `--help` and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** The command whose help the hint points at; undefined for the top level. */
    readonly command?: string,
  ) {
    super(message);
  }
}
