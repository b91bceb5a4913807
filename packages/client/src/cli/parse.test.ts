import { describe, expect, it } from 'vitest';
import { type Command, UsageError } from './command.js';
import { delCommand } from './commands/del.js';
import { getCommand } from './commands/get.js';
import { putCommand } from './commands/put.js';
import { statusCommand } from './commands/status.js';
import { parseBase64, parseCommandLine, parsePositiveInt } from './parse.js';

const commands = [getCommand, putCommand, delCommand, statusCommand];

function run(argv: string[], env: Record<string, string> = {}): Extract<ReturnType<typeof parseCommandLine>, { kind: 'run' }> {
  const parsed = parseCommandLine(argv, commands, env);
  if (parsed.kind !== 'run') throw new Error(`expected a command to run, got ${parsed.kind}`);
  return parsed;
}

function usageError(argv: string[]): UsageError {
  try {
    parseCommandLine(argv, commands, {});
  } catch (err: unknown) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

describe('parseCommandLine', () => {
  it('takes global options before or after the command, and command options anywhere after it', () => {
    const a = run(['--addr', 'h:1', 'put', 'k', 'v', '--w', '2', '--json', '--timeout', '250']);
    expect(a.command).toBe(putCommand);
    expect(a.input.positionals).toEqual(['k', 'v']);
    expect(a.input.string('w')).toBe('2');
    expect(a.globals).toEqual({ address: 'h:1', timeoutMs: 250, json: true, caller: undefined });
    const b = run(['put', '--json', 'k', '--addr=h:2', 'v']);
    expect(b.input.positionals).toEqual(['k', 'v']);
    expect(b.globals.address).toBe('h:2');
  });

  it('reads the caller from --caller, then QKV_CALLER, and sends none by default', () => {
    expect(run(['status', '--caller', 'billing'], { QKV_CALLER: 'env' }).globals.caller).toBe('billing');
    expect(run(['status'], { QKV_CALLER: 'env' }).globals.caller).toBe('env');
    expect(run(['status'], {}).globals.caller).toBeUndefined();
  });

  it('reads the address from --addr, then QKV_ADDR, then the default', () => {
    expect(run(['status', '--addr', 'a:1'], { QKV_ADDR: 'e:2' }).globals.address).toBe('a:1');
    expect(run(['status'], { QKV_ADDR: 'e:2' }).globals.address).toBe('e:2');
    expect(run(['status'], { QKV_ADDR: '' }).globals.address).toBe('127.0.0.1:7070');
    expect(run(['status', '--addr', '[::1]:7070']).globals.address).toBe('[::1]:7070');
  });

  it('refuses an address without HOST:PORT, naming where it came from', () => {
    expect(() => run(['status', '--addr', 'garbage'])).toThrow("--addr 'garbage' has no port");
    expect(() => run(['status'], { QKV_ADDR: 'localhost' })).toThrow("QKV_ADDR 'localhost' has no port");
    expect(() => run(['status', '--addr', 'h:0'])).toThrow("has a bad port '0'");
  });

  it('lets a key start with a dash after --', () => {
    expect(run(['get', '--', '-odd-key']).input.positionals).toEqual(['-odd-key']);
  });

  it('answers help for --help, -h, `help COMMAND` and no arguments, marking only the last as not requested', () => {
    expect(parseCommandLine(['get', '--help'], commands, {})).toEqual({ kind: 'help', command: getCommand, requested: true });
    expect(parseCommandLine(['-h'], commands, {})).toEqual({ kind: 'help', command: undefined, requested: true });
    expect(parseCommandLine(['help', 'put'], commands, {})).toEqual({ kind: 'help', command: putCommand, requested: true });
    expect(parseCommandLine([], commands, {})).toEqual({ kind: 'help', command: undefined, requested: false });
  });

  it('names the command and the problem in usage errors', () => {
    expect(usageError(['frobnicate']).message).toBe("unknown command 'frobnicate'");
    expect(usageError(['frobnicate']).command).toBeUndefined();
    expect(usageError(['get', 'k', '--w', '2'])).toMatchObject({ message: "unknown option '--w'", command: 'get' });
    expect(usageError(['put', 'k'])).toMatchObject({ message: 'missing VALUE', command: 'put' });
    expect(usageError(['del', 'a', 'b']).message).toBe("unexpected argument 'b'");
    expect(usageError(['get', 'k', '--r']).message).toBe("option '--r' needs a value");
    expect(usageError(['get', 'k', '--json=yes']).message).toBe("option '--json' takes no value");
    expect(usageError(['status', '--timeout', '0']).message).toMatch(/--timeout must be a positive integer/);
    expect(usageError(['--json']).message).toBe('missing command');
  });

  it('accepts one-or-more positionals for a command declared with PATH...', () => {
    const rules: Command = { ...statusCommand, name: 'rules', args: ['SUBCOMMAND', 'PATH...'] };
    const parsed = parseCommandLine(['rules', 'check', 'a.yaml', 'b.yaml'], [rules], {});
    expect(parsed.kind === 'run' && parsed.input.positionals).toEqual(['check', 'a.yaml', 'b.yaml']);
    expect(() => parseCommandLine(['rules', 'check'], [rules], {})).toThrow('missing PATH...');
  });
});

describe('option values', () => {
  it('accepts positive integers only', () => {
    expect(parsePositiveInt('--w', '3')).toBe(3);
    for (const bad of ['0', '-1', '1.5', 'two', '', '99999999999999999999']) {
      expect(() => parsePositiveInt('--w', bad)).toThrow(UsageError);
    }
  });

  it('round-trips the base64 contexts qkv prints, with or without padding, and refuses anything else', () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251]);
    expect(parseBase64('--context', bytes.toString('base64'))).toEqual(bytes);
    expect(parseBase64('--context', bytes.toString('base64').replace(/=+$/, ''))).toEqual(bytes);
    for (const bad of ['not base64!', 'AAE-', 'A']) {
      expect(() => parseBase64('--context', bad)).toThrow(UsageError);
    }
  });
});
