import { CONSISTENCY_NAMES, type ConsistencyName } from '../request-options.js';
import { type CommandInput, type OptionSpec, UsageError } from './command.js';
import { parseBase64, parsePositiveInt } from './parse.js';

/** `--consistency LEVEL`, shared by get, put and del. */
export const CONSISTENCY_OPTION: OptionSpec = {
  type: 'string',
  valueName: 'LEVEL',
  description: `${CONSISTENCY_NAMES.join(', ')} (default quorum)`,
};

/** `--context BASE64`, shared by put and del. */
export const CONTEXT_OPTION: OptionSpec = {
  type: 'string',
  valueName: 'BASE64',
  description: 'causal context printed by get or put: supersede exactly the versions it saw',
};

/** `--w N`, shared by put and del. */
export const W_OPTION: OptionSpec = {
  type: 'string',
  valueName: 'N',
  description: 'replicas that must acknowledge (overrides --consistency)',
};

/** The `--consistency` value, checked. */
export function readConsistency(input: CommandInput, command: string): ConsistencyName | undefined {
  const text = input.string('consistency');
  if (text === undefined) return undefined;
  const name = CONSISTENCY_NAMES.find((c) => c === text.toLowerCase());
  if (!name) throw new UsageError(`--consistency must be one of ${CONSISTENCY_NAMES.join(', ')}, got '${text}'`, command);
  return name;
}

/** A `--r` or `--w` count, checked. */
export function readReplicaCount(input: CommandInput, option: 'r' | 'w', command: string): number | undefined {
  const text = input.string(option);
  return text === undefined ? undefined : parsePositiveInt(`--${option}`, text, command);
}

/** The `--context` bytes, checked. */
export function readContext(input: CommandInput, command: string): Buffer | undefined {
  const text = input.string('context');
  return text === undefined ? undefined : parseBase64('--context', text, command);
}
