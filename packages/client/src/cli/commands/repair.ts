import { type AntiEntropyClient, DEFAULT_ANTI_ENTROPY_ADDRESS, type RepairPassProgress, type RepairStatus } from '../../anti-entropy-client.js';
import { checkAddress } from '../address.js';
import { type Command, type CommandContext, type CommandInput, UsageError } from '../command.js';
import { progressBar } from '../progress-bar.js';

const RING = 2 ** 32;

/** `START:END` as a ring range (START, END], each 0 … 2^32 − 1. */
export function parseRange(raw: string): { start: number; end: number } {
  const m = /^(\d+):(\d+)$/.exec(raw.trim());
  const start = Number(m?.[1]);
  const end = Number(m?.[2]);
  if (m === null || start >= RING || end >= RING) throw new UsageError(`--range must be START:END, two ring positions from 0 to ${RING - 1}, got '${raw}'`, 'repair');
  return { start, end };
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function when(ms: number): string {
  return ms === 0 ? 'never' : new Date(ms).toISOString();
}

function passLine(p: RepairPassProgress, tty: boolean): string {
  const scope = p.node === '' ? p.trigger : `${p.trigger}, ${p.node}`;
  const head = `pass ${p.id} (${scope})`;
  const bar = tty ? progressBar(p.exchangesDone, p.exchangesTotal) : `${p.exchangesDone}/${p.exchangesTotal} exchanges`;
  return `${head}  ${bar}  ${p.keysRepaired} keys repaired, ${p.exchangesFailed} failed${p.finishedAtMs > 0 ? ', finished' : ''}`;
}

/** The `--json` document of `qkv repair status`. */
export function statusJson(s: RepairStatus): Record<string, unknown> {
  const running = s.current;
  return {
    ringEpoch: s.ringEpoch,
    rangesTotal: s.rangesTotal,
    rangesInSync: s.rangesInSync,
    rangesOutOfSync: s.rangesOutOfSync,
    rangesUnknown: s.rangesUnknown,
    rangesOverdue: s.rangesOverdue,
    keysRepaired: s.keysRepaired,
    transientKeys: s.transientKeys,
    bytesExchanged: s.bytesExchanged,
    exchanges: s.exchanges,
    exchangesFailed: s.exchangesFailed,
    lastFullPass: s.lastFullPassMs === 0 ? null : new Date(s.lastFullPassMs).toISOString(),
    lastFullPassMs: s.lastFullPassMs,
    progress:
      running === undefined
        ? null
        : { ...running, ratio: running.exchangesTotal === 0 ? 1 : running.exchangesDone / running.exchangesTotal },
    lastPass: s.last ?? null,
    periodMs: s.periodMs,
    tombstoneGraceMs: s.tombstoneGraceMs,
    tombstonesPurged: s.tombstonesPurged,
    flaggedKeys: s.flaggedKeys,
    throttle: s.throttle,
    nodes: s.nodes,
  };
}

/** The text of `qkv repair status`. */
export function statusLines(s: RepairStatus, tty: boolean): string[] {
  const lines = [
    `ring epoch ${s.ringEpoch}: ${s.rangesTotal} ranges — ${s.rangesInSync} in sync, ${s.rangesOutOfSync} out of sync, ${s.rangesUnknown} not compared yet${s.rangesOverdue > 0 ? `, ${s.rangesOverdue} OVERDUE` : ''}`,
    `keys repaired ${s.keysRepaired}, bytes exchanged ${bytes(s.bytesExchanged)}, tombstones purged ${s.tombstonesPurged}, keys flagged ${s.flaggedKeys}`,
    `last full pass: ${when(s.lastFullPassMs)} (period ${Math.round(s.periodMs / 1000)} s)`,
    ...(s.running.length === 0 ? ['running: nothing'] : s.running.map((p) => `running: ${passLine(p, tty)}`)),
  ];
  if (s.last) lines.push(`last: ${passLine(s.last, false)}`);
  for (const n of s.nodes) {
    if (n.backoffUntilMs > 0) lines.push(`  ${n.id} backing off until ${when(n.backoffUntilMs)}: ${n.lastError}`);
  }
  return lines;
}

function clientOf(input: CommandInput, ctx: CommandContext): AntiEntropyClient {
  const address = input.string('anti-entropy') ?? ctx.env.QKV_ANTI_ENTROPY_ADDR ?? DEFAULT_ANTI_ENTROPY_ADDRESS;
  checkAddress(address, '--anti-entropy');
  return ctx.antiEntropy(address);
}

/** Waits for pass `id` to finish, drawing its progress (redrawn on a terminal, a line a second otherwise). */
async function follow(client: AntiEntropyClient, id: number, ctx: CommandContext): Promise<RepairPassProgress | undefined> {
  for (let lastLine = 0; ; ) {
    const s = await client.status();
    const pass = s.running.find((p) => p.id === id) ?? (s.last?.id === id ? s.last : undefined);
    // Not running and not the last to finish: it finished before another one did.
    if (pass === undefined || pass.finishedAtMs > 0) {
      if (ctx.interactive && !ctx.json) ctx.write(Buffer.from('\n'));
      return pass;
    }
    if (!ctx.json) {
      if (ctx.interactive) ctx.write(Buffer.from(`\r${passLine(pass, true)}`));
      else if (Date.now() - lastLine >= 1_000) {
        ctx.print(passLine(pass, false));
        lastLine = Date.now();
      }
    }
    await ctx.sleep(250);
  }
}

/**
 * `qkv repair [--node ID] [--range START:END] [--wait]` starts an anti-entropy pass now;
 * `qkv repair status [--json]` shows how the ranges stand.
 */
export const repairCommand: Command = {
  name: 'repair',
  summary: 'start an anti-entropy exchange now, or show its status (qkv repair status)',
  args: ['[status]'],
  options: {
    node: { type: 'string', valueName: 'ID', description: 'only the ranges this storage node replicates' },
    range: { type: 'string', valueName: 'START:END', description: 'only ranges overlapping the ring arc (START, END]' },
    wait: { type: 'boolean', description: 'wait for the pass to finish, showing its progress' },
    'anti-entropy': {
      type: 'string',
      valueName: 'HOST:PORT',
      description: `the anti-entropy worker's address (env QKV_ANTI_ENTROPY_ADDR, default ${DEFAULT_ANTI_ENTROPY_ADDRESS})`,
    },
  },
  description: [
    'Without an action: asks the anti-entropy worker to compare the Merkle trees of the replicas',
    'of every range now (only those of --node, only those overlapping --range) and repair every key',
    'that differs, by merging the replicas\' version sets. Prints the pass and how many range',
    'exchanges it runs; with --wait, follows it to the end.',
    '',
    '"status": ranges in sync and out of sync, keys repaired, bytes exchanged, when the last full',
    'pass finished, and the running pass with a progress bar (on a terminal).',
  ].join('\n'),
  async run(input, ctx) {
    const [action, ...rest] = input.positionals;
    if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0] ?? ''}'`, 'repair');
    if (action !== undefined && action !== 'status') throw new UsageError(`unknown action '${action}' (expected 'status', or none to start a repair)`, 'repair');
    const client = clientOf(input, ctx);
    try {
      if (action === 'status') {
        if (input.string('node') !== undefined || input.string('range') !== undefined || input.flag('wait')) {
          throw new UsageError('status takes no --node, --range or --wait', 'repair');
        }
        const s = await client.status();
        if (ctx.json) ctx.printJson(statusJson(s));
        else for (const line of statusLines(s, ctx.interactive)) ctx.print(line);
        return;
      }
      const range = input.string('range');
      const node = input.string('node');
      const started = await client.repair({ ...(node !== undefined ? { node } : {}), ...(range !== undefined ? { range: parseRange(range) } : {}) });
      if (!input.flag('wait')) {
        if (ctx.json) ctx.printJson(started);
        else ctx.print(started.message);
        return;
      }
      if (!ctx.json) ctx.print(started.message);
      const done = await follow(client, started.passId, ctx);
      if (ctx.json) ctx.printJson({ ...started, pass: done ?? null });
      else if (done) ctx.print(passLine(done, false));
    } finally {
      client.close();
    }
  },
};
