import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { formatGet, formatGetBase64, getJson, VALUE_FORMATS, type ValueFormat } from '../format.js';
import { CONSISTENCY_OPTION, readConsistency, readReplicaCount } from '../kv-options.js';
import { positional } from '../parse.js';

/** The key has no value to print as raw bytes; stderr says so and `qkv` exits 1. */
export class NothingToPrintError extends Error {
  override readonly name = 'NothingToPrintError';
}

/** `--format`, checked; `--json` is `--format json`. */
function readFormat(text: string | undefined, json: boolean): ValueFormat {
  if (text === undefined) return json ? 'json' : 'text';
  const format = VALUE_FORMATS.find((f) => f === text.toLowerCase());
  if (!format) throw new UsageError(`--format must be one of ${VALUE_FORMATS.join(', ')}, got '${text}'`, 'get');
  return format;
}

/** `qkv get KEY [--r N] [--consistency LEVEL] [--format text|raw|base64|json]`: prints every sibling and the context. */
export const getCommand: Command = {
  name: 'get',
  summary: 'read a key: every sibling and the causal context',
  args: ['KEY'],
  options: {
    r: { type: 'string', valueName: 'N', description: 'replicas that must answer (overrides --consistency)' },
    consistency: CONSISTENCY_OPTION,
    format: { type: 'string', valueName: 'FORMAT', description: `how to print values: ${VALUE_FORMATS.join(', ')} (default text)` },
  },
  description: [
    'Reads KEY (UTF-8 text). Prints the value, or every sibling when writers raced, then',
    '"context: BASE64"; pass that context to the next put or del of the key so it supersedes what',
    'you read. --format picks how values print:',
    '  text    (default) UTF-8 text as it is; in double quotes with escapes (\\n, \\t, \\") when it',
    '          holds a line break or another control character; "(base64) ..." for binary values',
    '  raw     the value\'s bytes exactly, nothing else (for pipes and files; one value only)',
    '  base64  each value as base64, one per line',
    '  json    one JSON document, the same as --json',
  ].join('\n'),
  async run(input, ctx) {
    const key = positional(input.positionals, 0, 'KEY', 'get');
    const format = readFormat(input.string('format'), ctx.json);
    const res = await ctx.client().get(key, {
      consistency: readConsistency(input, 'get'),
      r: readReplicaCount(input, 'r', 'get'),
    });
    if (format === 'json') ctx.printJson(getJson(res));
    else if (format === 'base64') for (const line of formatGetBase64(res)) ctx.print(line);
    else if (format === 'text') for (const line of formatGet(res)) ctx.print(line);
    else {
      const [only, ...more] = res.found ? res.siblings : [];
      if (only === undefined) throw new NothingToPrintError(`'${key}' not found`);
      if (more.length > 0) {
        throw new NothingToPrintError(`'${key}' has ${res.siblings.length} siblings and --format raw prints one value: resolve them, or use --format json`);
      }
      ctx.write(only);
    }
  },
};
