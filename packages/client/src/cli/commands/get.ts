import type { Command } from '../command.js';
import { formatGet, getJson } from '../format.js';
import { CONSISTENCY_OPTION, readConsistency, readReplicaCount } from '../kv-options.js';
import { positional } from '../parse.js';

/** `qkv get KEY [--r N] [--consistency LEVEL]`: prints every sibling and the context. */
export const getCommand: Command = {
  name: 'get',
  summary: 'read a key: every sibling and the causal context',
  args: ['KEY'],
  options: {
    r: { type: 'string', valueName: 'N', description: 'replicas that must answer (overrides --consistency)' },
    consistency: CONSISTENCY_OPTION,
  },
  description: [
    'Reads KEY (UTF-8 text). Prints the value, or every sibling when writers raced, each as',
    'text when it is printable UTF-8 and as "(base64) ..." otherwise, then "context: BASE64".',
    'Pass that context to the next put or del of the key so it supersedes what you read.',
  ].join('\n'),
  async run(input, ctx) {
    const key = positional(input.positionals, 0, 'KEY', 'get');
    const res = await ctx.client().get(key, {
      consistency: readConsistency(input, 'get'),
      r: readReplicaCount(input, 'r', 'get'),
    });
    if (ctx.json) ctx.printJson(getJson(res));
    else for (const line of formatGet(res)) ctx.print(line);
  },
};
