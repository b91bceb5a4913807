import type { Command } from '../command.js';
import { formatStatus } from '../format.js';

/** `qkv status`: storage nodes, up or down, ring share and keys. */
export const statusCommand: Command = {
  name: 'status',
  summary: 'show storage nodes: up or down, share of the ring, keys',
  args: [],
  options: {},
  description: [
    'Asks the coordinator for the cluster it sees and prints one row per storage node: id,',
    'address, up or down, the share of the hash ring it owns first, and its key count.',
  ].join('\n'),
  async run(_input, ctx) {
    const status = await ctx.client().status();
    if (ctx.json) ctx.printJson(status);
    else for (const line of formatStatus(status)) ctx.print(line);
  },
};
