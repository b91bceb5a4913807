import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { CONSISTENCY_OPTION, CONTEXT_OPTION, W_OPTION, readConsistency, readContext, readReplicaCount } from '../kv-options.js';
import { positional } from '../parse.js';

/**
 * `qkv del KEY [--context C | --blind] [--w N] [--consistency LEVEL]`: deletes what a read of
 * the key shows.
 *
 * Why read first: a Delete writes a tombstone that supersedes exactly the versions its context
 * covers. Sent with no context it covers none, so the value it was meant to delete stays, as a
 * sibling of the tombstone, and the next get still returns it. Someone who types `del KEY` means
 * "delete what I see", so qkv reads the key and deletes with that read's context; a value
 * written between the read and the delete survives as it should (nobody saw it).
 */
export const delCommand: Command = {
  name: 'del',
  summary: 'delete a key: every value a read of it shows',
  args: ['KEY'],
  options: {
    context: { ...CONTEXT_OPTION, description: 'delete exactly the versions this context (from get or put) saw, without reading first' },
    blind: { type: 'boolean', description: 'write a tombstone with no context (supersedes nothing: a value already there stays)' },
    w: W_OPTION,
    consistency: CONSISTENCY_OPTION,
  },
  description: [
    'Reads KEY, then deletes every value that read returned (writes a tombstone with its context),',
    'and prints "ok: deleted 1 value" ("ok: not found, nothing to delete" when there was none).',
    'A value written concurrently, after the read, is not deleted: get it again and del again.',
    '--consistency applies to both the read and the delete.',
    'With --context, deletes exactly what that context saw, without reading. With --blind, writes',
    'a tombstone that supersedes nothing (the Delete API call without a context).',
  ].join('\n'),
  async run(input, ctx) {
    const key = positional(input.positionals, 0, 'KEY', 'del');
    const given = readContext(input, 'del');
    const blind = input.flag('blind');
    if (given !== undefined && blind) throw new UsageError('--context and --blind exclude each other', 'del');
    const consistency = readConsistency(input, 'del');
    const w = readReplicaCount(input, 'w', 'del');
    let context = given;
    let deleted: number | undefined;
    if (given === undefined && !blind) {
      const seen = await ctx.client().get(key, { consistency });
      if (!seen.found) {
        if (ctx.json) ctx.printJson({ ok: true, deleted: 0 });
        else ctx.print('ok: not found, nothing to delete');
        return;
      }
      context = seen.context;
      deleted = seen.siblings.length;
    }
    await ctx.client().delete(key, { context, consistency, w });
    if (ctx.json) ctx.printJson(deleted === undefined ? { ok: true } : { ok: true, deleted });
    else if (deleted === undefined) ctx.print('ok');
    else ctx.print(`ok: deleted ${deleted === 1 ? '1 value' : `${deleted} values (siblings)`}`);
  },
};
