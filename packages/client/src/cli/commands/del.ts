import type { Command } from '../command.js';
import { CONSISTENCY_OPTION, CONTEXT_OPTION, W_OPTION, readConsistency, readContext, readReplicaCount } from '../kv-options.js';
import { positional } from '../parse.js';

/** `qkv del KEY [--context C] [--w N] [--consistency LEVEL]`: writes a tombstone. */
export const delCommand: Command = {
  name: 'del',
  summary: 'delete a key (writes a tombstone)',
  args: ['KEY'],
  options: { context: CONTEXT_OPTION, w: W_OPTION, consistency: CONSISTENCY_OPTION },
  description: [
    'Deletes KEY by writing a tombstone and prints "ok". With --context it supersedes the',
    'versions that context saw; without it, it supersedes none (a concurrent value survives).',
  ].join('\n'),
  async run(input, ctx) {
    const key = positional(input.positionals, 0, 'KEY', 'del');
    await ctx.client().delete(key, {
      context: readContext(input, 'del'),
      consistency: readConsistency(input, 'del'),
      w: readReplicaCount(input, 'w', 'del'),
    });
    if (ctx.json) ctx.printJson({ ok: true });
    else ctx.print('ok');
  },
};
