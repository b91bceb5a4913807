import { DEFAULT_MEMBERSHIP_ADDRESS } from '../../membership-client.js';
import { checkAddress } from '../address.js';
import { type Command, type CommandContext, type CommandInput, UsageError } from '../command.js';
import { formatBytes, formatClusterStatus, formatHandoff, formatTransfers, parseBytesPerSecond } from '../cluster-format.js';

const SUBCOMMANDS = ['status', 'join', 'leave', 'remove', 'transfers', 'throttle', 'handoff'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

/** How many arguments each subcommand takes after its name. */
const ARITY: Readonly<Record<Subcommand, readonly string[]>> = {
  status: [],
  join: ['ID', 'ADDR'],
  leave: ['ID'],
  remove: ['ID'],
  transfers: [],
  throttle: ['BYTES_PER_S'],
  handoff: [],
};

/** The membership service to talk to: `--membership`, `QKV_MEMBERSHIP`, or npm start's. */
function membershipAddress(input: CommandInput, ctx: CommandContext): string {
  const flag = input.string('membership');
  if (flag !== undefined) return checkAddress(flag, '--membership');
  const env = ctx.env['QKV_MEMBERSHIP'];
  if (env !== undefined && env !== '') return checkAddress(env, 'QKV_MEMBERSHIP');
  return DEFAULT_MEMBERSHIP_ADDRESS;
}

/** How often `transfers --watch` asks again. */
const REFRESH_MS = 1_000;

/** `qkv cluster …`: the membership service's commands. */
export const clusterCommand: Command = {
  name: 'cluster',
  summary: 'the living cluster: status, join, leave, remove, transfers, throttle, handoff',
  args: ['SUBCOMMAND', '[ARGS...]'],
  options: {
    membership: {
      type: 'string',
      valueName: 'HOST:PORT',
      description: `membership service address (env QKV_MEMBERSHIP, default ${DEFAULT_MEMBERSHIP_ADDRESS}, npm start's)`,
    },
    zone: { type: 'string', valueName: 'NAME', description: 'join: the failure domain of the node (replicas spread across zones)' },
    watch: { type: 'boolean', description: 'transfers: refresh every second until nothing moves' },
  },
  description: [
    'Talks to the membership service, which holds the committed ring (any replica: they forward',
    'changes to the claimant). Subcommands:',
    '  status              every member: id, address, role, liveness (alive/suspect/down), ring',
    '                      state (joining/normal/leaving/left), zone, owned share, keys, bytes',
    '  join ID ADDR        add a storage node (ADDR: its StorageService HOST:PORT) to the ring; it is',
    '                      JOINING until the ranges it gains have streamed to it. A node started with',
    '                      --seeds joins by itself; one started with --no-auto-join waits for this',
    '  leave ID            decommission: its data streams to the new owners, then it is LEFT',
    '  remove ID           a dead node that will not come back: its ranges are rebuilt on their new',
    '                      owners from the surviving replicas (a live node is refused: use leave)',
    '  transfers           every range moving: from, to, keys and bytes done and left, rate, ETA',
    '                      (a progress bar per source and receiver in a terminal; --watch refreshes)',
    '  throttle BYTES_PER_S  streaming throughput per receiving node, applied while transfers run',
    '                      (a number of bytes, or with a unit: 24MiB, 512KiB)',
    '  handoff             hinted handoff per storage node: hints pending in JetStream and the oldest',
    '                      one\'s age, delivered, delivery rate, throttle, expired, undeliverable,',
    '                      stand-in copies kept (like nodetool statushandoff)',
    'One change moves data at a time: join and leave wait (FAILED_PRECONDITION) while another node',
    'is joining or leaving. --json prints an object: status {members: [...]}, handoff',
    '{hintsEnabled, reason, hintWindowMs, nodes: [...]}, transfers',
    '{transfers: [...]} (empty when nothing moves).',
  ].join('\n'),
  async run(input, ctx) {
    const [sub, ...args] = input.positionals;
    if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
      throw new UsageError(`unknown subcommand '${sub ?? ''}' (one of ${SUBCOMMANDS.join(', ')})`, 'cluster');
    }
    const name = sub as Subcommand;
    const wanted = ARITY[name];
    if (args.length !== wanted.length) {
      throw new UsageError(`${name} takes ${wanted.length === 0 ? 'no arguments' : wanted.join(' ')}${args.length > wanted.length ? `, got '${args.slice(wanted.length).join(' ')}' too` : ''}`, 'cluster');
    }
    if (input.string('zone') !== undefined && name !== 'join') throw new UsageError('--zone goes with join', 'cluster');
    if (input.flag('watch') && name !== 'transfers') throw new UsageError('--watch goes with transfers', 'cluster');
    const client = ctx.membership(membershipAddress(input, ctx));
    switch (name) {
      case 'status': {
        const status = await client.status();
        if (ctx.json) ctx.printJson(status);
        else for (const line of formatClusterStatus(status)) ctx.print(line);
        return;
      }
      case 'join': {
        const [id = '', addr = ''] = args;
        const zone = input.string('zone');
        const res = await client.join(id, checkAddress(addr, 'ADDR'), zone === undefined ? {} : { zone });
        if (ctx.json) ctx.printJson(res);
        else ctx.print(res.message);
        return;
      }
      case 'leave':
      case 'remove': {
        const res = name === 'leave' ? await client.leave(args[0] ?? '') : await client.remove(args[0] ?? '');
        if (ctx.json) ctx.printJson(res);
        else ctx.print(res.message);
        return;
      }
      case 'throttle': {
        const bytes = await client.setThrottle(parseBytesPerSecond(args[0] ?? ''));
        if (ctx.json) ctx.printJson({ streamThroughputBytesPerS: bytes });
        else ctx.print(`streaming throughput: ${bytes} bytes/s (${formatBytes(bytes)}/s) per receiving node`);
        return;
      }
      case 'transfers':
        return transfers(client, ctx, input.flag('watch'));
      case 'handoff': {
        const h = await client.handoff();
        if (ctx.json) ctx.printJson(h);
        else for (const line of formatHandoff(h)) ctx.print(line);
        return;
      }
    }
  },
};

async function transfers(client: ReturnType<CommandContext['membership']>, ctx: CommandContext, watch: boolean): Promise<void> {
  let drawn = 0;
  for (;;) {
    const t = await client.transfers();
    if (ctx.json) {
      ctx.printJson(t);
    } else {
      const lines = formatTransfers(t, ctx.interactive);
      // On a terminal, --watch redraws in place: up over the last block, clearing each line.
      if (watch && ctx.interactive && drawn > 0) ctx.print(`\u001b[${drawn}A\u001b[J${lines.join('\n')}`);
      else for (const line of lines) ctx.print(line);
      drawn = lines.length;
    }
    const pending = t.transfers.some((r) => !r.complete);
    if (!watch || !pending) return;
    await ctx.sleep(REFRESH_MS);
  }
}
