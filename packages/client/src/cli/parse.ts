import { parseArgs } from 'node:util';
import { DEFAULT_ADDRESS } from '../kv-client.js';
import { checkAddress } from './address.js';
import { type Command, type CommandInput, type OptionSpec, UsageError } from './command.js';

/** Options every command takes. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  addr: {
    type: 'string',
    valueName: 'HOST:PORT',
    description: `coordinator address (env QKV_ADDR, default ${DEFAULT_ADDRESS})`,
  },
  caller: {
    type: 'string',
    valueName: 'NAME',
    description: 'who is calling, for per-caller rate limits (env QKV_CALLER; default anonymous)',
  },
  'tls-dir': {
    type: 'string',
    valueName: 'DIR',
    description: 'connect with TLS using ca.pem, client.pem and client-key.pem in DIR (npm start -- --tls makes them in .qkv-data/tls; env QKV_TLS_DIR)',
  },
  timeout: { type: 'string', valueName: 'MS', description: 'overall deadline of the call, retries included (default 5000)' },
  json: { type: 'boolean', description: 'print machine-readable JSON' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

/** Settings that apply whatever the command. */
export interface GlobalSettings {
  readonly address: string;
  /** Undefined means the SDK default. */
  readonly timeoutMs: number | undefined;
  readonly json: boolean;
  /** Sent as `x-quorumkv-caller`; undefined sends none (the coordinator counts it as anonymous). */
  readonly caller: string | undefined;
  /** `--tls-dir` (or QKV_TLS_DIR): TLS with the files of this folder; undefined for plain text. */
  readonly tlsDir: string | undefined;
}

/** What the command line asks for: help (for one command or all), or a command to run. */
export type ParsedCommandLine =
  | {
      readonly kind: 'help';
      readonly command: Command | undefined;
      /** False when `qkv` ran with no arguments at all: help goes to stderr with exit 2. */
      readonly requested: boolean;
    }
  | { readonly kind: 'run'; readonly command: Command; readonly input: CommandInput; readonly globals: GlobalSettings };

type Value = string | boolean;

/**
 * Reads `qkv [global options] <command> [args and options]`. Global options may come before or
 * after the command. `--` ends options, so a key may start with `-`.
 *
 * @throws UsageError naming what is wrong
 */
export function parseCommandLine(
  argv: readonly string[],
  commands: readonly Command[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedCommandLine {
  const globalTokens = tokenize(argv, GLOBAL_OPTIONS);
  const first = globalTokens.find((t) => t.kind === 'positional');
  if (!first) {
    const askedHelp = globalTokens.some((t) => t.kind === 'option' && t.name === 'help');
    if (askedHelp || argv.length === 0) return { kind: 'help', command: undefined, requested: askedHelp };
    throw new UsageError('missing command');
  }
  if (first.value === 'help') {
    const target = argv[first.index + 1];
    return { kind: 'help', command: target === undefined ? undefined : findCommand(commands, target), requested: true };
  }
  const command = findCommand(commands, first.value);
  const spec = { ...GLOBAL_OPTIONS, ...command.options };
  const rest = [...argv.slice(0, first.index), ...argv.slice(first.index + 1)];
  const values = new Map<string, Value>();
  const positionals: string[] = [];
  for (const token of tokenize(rest, spec)) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    const option = spec[token.name];
    if (!option) throw new UsageError(`unknown option '${token.rawName}'`, command.name);
    if (option.type === 'string' && token.value === undefined) {
      throw new UsageError(`option '${token.rawName}' needs a value`, command.name);
    }
    if (option.type === 'boolean' && token.value !== undefined) {
      throw new UsageError(`option '${token.rawName}' takes no value`, command.name);
    }
    values.set(token.name, token.value ?? true);
  }
  if (values.get('help') === true) return { kind: 'help', command, requested: true };
  checkPositionals(command, positionals);
  const str = (name: string): string | undefined => {
    const v = values.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const timeout = str('timeout');
  const addr = str('addr');
  const envAddr = nonEmpty(env['QKV_ADDR']);
  const address = addr !== undefined ? checkAddress(addr, '--addr') : envAddr !== undefined ? checkAddress(envAddr, 'QKV_ADDR') : DEFAULT_ADDRESS;
  return {
    kind: 'run',
    command,
    input: { positionals, string: str, flag: (name) => values.get(name) === true },
    globals: {
      address,
      timeoutMs: timeout === undefined ? undefined : parsePositiveInt('--timeout', timeout, command.name),
      json: values.get('json') === true,
      caller: str('caller') ?? nonEmpty(env['QKV_CALLER']),
      tlsDir: str('tls-dir') ?? nonEmpty(env['QKV_TLS_DIR']),
    },
  };
}

type Token =
  | { readonly kind: 'positional'; readonly value: string; readonly index: number }
  | { readonly kind: 'option'; readonly name: string; readonly rawName: string; readonly value: string | undefined };

/** Splits argv with node's parseArgs, leaving every judgement (unknown option, missing value) to us. */
function tokenize(args: readonly string[], spec: Readonly<Record<string, OptionSpec>>): Token[] {
  const options = Object.fromEntries(
    Object.entries(spec).map(([name, o]) => [name, o.short ? { type: o.type, short: o.short } : { type: o.type }]),
  );
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  const out: Token[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') out.push({ kind: 'positional', value: t.value, index: t.index });
    else if (t.kind === 'option') out.push({ kind: 'option', name: t.name, rawName: t.rawName, value: t.value });
  }
  return out;
}

function findCommand(commands: readonly Command[], name: string): Command {
  const command = commands.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command '${name}'`);
  return command;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Checks the positional count against the command's declared arguments. */
function checkPositionals(command: Command, positionals: readonly string[]): void {
  const required = command.args.filter((a) => !a.startsWith('['));
  const variadic = command.args.some((a) => a.endsWith('...') || a.endsWith('...]'));
  if (positionals.length < required.length) {
    throw new UsageError(`missing ${required.slice(positionals.length).join(' ')}`, command.name);
  }
  if (!variadic && positionals.length > command.args.length) {
    const extra = positionals.slice(command.args.length).map((p) => `'${p}'`);
    throw new UsageError(`unexpected argument ${extra.join(' ')}`, command.name);
  }
}

/** A positive integer option value (`--w 2`), or a usage error naming the option. */
export function parsePositiveInt(option: string, text: string, command?: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${option} must be a positive integer, got '${text}'`, command);
  }
  return Number(text);
}

/**
 * Standard base64 as `qkv` prints contexts (padding optional), or a usage error. Buffer's own
 * decoder skips bad characters silently, which would send a corrupted context.
 */
export function parseBase64(option: string, text: string, command?: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || bytes.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, '')) {
    throw new UsageError(`${option} must be base64 (as printed by get or put), got '${text}'`, command);
  }
  return bytes;
}

/** Positional argument `index` (the count was checked against the command's `args`). */
export function positional(positionals: readonly string[], index: number, name: string, command: string): string {
  const value = positionals[index];
  if (value === undefined) throw new UsageError(`missing ${name}`, command);
  return value;
}
