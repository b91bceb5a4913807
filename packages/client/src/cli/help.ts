import type { Command, OptionSpec } from './command.js';
import { GLOBAL_OPTIONS } from './parse.js';

function flagText(name: string, o: OptionSpec): string {
  const flag = `${o.short ? `-${o.short}, ` : ''}--${name}`;
  return o.type === 'string' ? `${flag} ${o.valueName ?? 'VALUE'}` : flag;
}

/** Width of the flag column, so command and global options line up in one help text. */
function flagWidth(...tables: Readonly<Record<string, OptionSpec>>[]): number {
  return Math.max(0, ...tables.flatMap((t) => Object.entries(t).map(([name, o]) => flagText(name, o).length)));
}

function optionLines(options: Readonly<Record<string, OptionSpec>>, width: number): string[] {
  return Object.entries(options).map(([name, o]) => `  ${flagText(name, o).padEnd(width)}  ${o.description}`);
}

/** `qkv --help`: every command with its summary, and the global options. */
export function formatGeneralHelp(commands: readonly Command[]): string {
  const width = Math.max(0, ...commands.map((c) => c.name.length));
  return [
    'Usage: qkv [--addr HOST:PORT] [--caller NAME] [--tls-dir DIR] [--timeout MS] [--json] <command> [args]',
    '',
    'The quorumkv command-line client.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS, flagWidth(GLOBAL_OPTIONS)),
    '',
    "Run 'qkv <command> --help' for a command's arguments and options.",
  ].join('\n');
}

/** `qkv <command> --help`: usage line, description, the command's options and the global ones. */
export function formatCommandHelp(command: Command): string {
  const hasOptions = Object.keys(command.options).length > 0;
  const width = flagWidth(command.options, GLOBAL_OPTIONS);
  const usage = ['Usage: qkv', command.name, ...command.args, '[options]'].join(' ');
  return [
    usage,
    '',
    command.description,
    ...(hasOptions ? ['', 'Options:', ...optionLines(command.options, width)] : []),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS, width),
  ].join('\n');
}
