import type { Command } from '../command.js';
import { CONSISTENCY_OPTION, CONTEXT_OPTION, W_OPTION, readConsistency, readContext, readReplicaCount } from '../kv-options.js';
import { positional } from '../parse.js';

/** `qkv put KEY VALUE [--context C] [--w N] [--consistency LEVEL]`: prints `ok` and the new context. */
export const putCommand: Command = {
  name: 'put',
  summary: 'write a value; prints the new causal context',
  args: ['KEY', 'VALUE'],
  options: { context: CONTEXT_OPTION, w: W_OPTION, consistency: CONSISTENCY_OPTION },
  description: [
    'Stores VALUE (UTF-8 text) under KEY and prints "ok" and "context: BASE64".',
    'Without --context, a put to an existing key adds a sibling instead of overwriting it:',
    'read with get first and pass its context to replace what you read.',
  ].join('\n'),
  async run(input, ctx) {
    const key = positional(input.positionals, 0, 'KEY', 'put');
    const value = positional(input.positionals, 1, 'VALUE', 'put');
    const res = await ctx.client().put(key, value, {
      context: readContext(input, 'put'),
      consistency: readConsistency(input, 'put'),
      w: readReplicaCount(input, 'w', 'put'),
    });
    const context = res.context.toString('base64');
    if (ctx.json) ctx.printJson({ ok: true, context });
    else {
      ctx.print('ok');
      ctx.print(`context: ${context}`);
    }
  },
};
