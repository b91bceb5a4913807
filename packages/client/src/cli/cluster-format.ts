/**
 * How `qkv cluster …` prints: the member table (like `nodetool status`), the ranges moving (per
 * receiving node and source, with progress bars on a terminal), byte sizes, and the throttle
 * argument.
 */
import type { ClusterHandoff } from '../cluster-handoff.js';
import type { ClusterMembers, ClusterTransfers, RangeTransfer } from '../cluster-members.js';
import { formatShare } from './format.js';
import { UsageError } from './command.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1536` → `1.5 KiB`. */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u += 1;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`;
}

/** Seconds as `45 s`, `3 min 20 s`, `2 h 5 min`; `-` when unknown (0). */
export function formatDuration(seconds: number): string {
  if (!(seconds > 0) || !Number.isFinite(seconds)) return '-';
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Lines of a table: columns padded, those in `right` right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** `qkv cluster status`: one row per member, then a summary line. */
export function formatClusterStatus(s: ClusterMembers): string[] {
  const rows = s.members.map((m) => [
    m.id,
    m.address,
    m.role,
    m.liveness,
    m.ringState ?? '-',
    m.zone === '' ? '-' : m.zone,
    m.role === 'storage' ? formatShare(m.ownedShare) : '-',
    m.role === 'storage' ? String(m.keys) : '-',
    m.role === 'storage' ? formatBytes(m.bytes) : '-',
  ]);
  const storage = s.members.filter((m) => m.role === 'storage' && m.ringState !== 'left');
  const up = storage.filter((m) => m.liveness === 'alive' || m.liveness === 'suspect').length;
  const moving = storage.filter((m) => m.ringState === 'joining' || m.ringState === 'leaving').map((m) => `${m.id} ${m.ringState}`);
  return [
    ...table(['ID', 'ADDRESS', 'ROLE', 'LIVENESS', 'RING', 'ZONE', 'OWNS', 'KEYS', 'BYTES'], rows, new Set([6, 7, 8])),
    '',
    `ring epoch ${s.epoch}, N=${s.replicationFactor}: ${up}/${storage.length} storage nodes up` +
      (moving.length > 0 ? `; moving: ${moving.join(', ')} (qkv cluster transfers)` : '') +
      `; claimant ${s.claimant}`,
    `hinted handoff: ${s.hintsEnabled ? 'on (qkv cluster handoff)' : `off — ${s.hintsReason}`}`,
  ];
}

/** A duration for a table cell: 850 ms, 12 s, 4 m, 2.5 h. */
function formatAge(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1_000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} m`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** `qkv cluster handoff`: one row per storage node, then the window (like `nodetool statushandoff`). */
export function formatHandoff(h: ClusterHandoff): string[] {
  if (!h.hintsEnabled) return [`hinted handoff: off — ${h.reason}`];
  const rows = h.nodes.map((n) => [
    n.nodeId,
    n.liveness,
    String(n.pending),
    n.pending > 0 ? formatAge(n.oldestAgeMs) : '-',
    n.reported ? String(n.delivered) : '?',
    n.reported ? `${n.deliveryRatePerS.toFixed(1)}/s` : '?',
    n.reported ? `${formatBytes(n.throttleBytesPerS)}/s` : '?',
    String(n.expired),
    n.reported ? String(n.undeliverable) : '?',
    n.reported ? String(n.standInCopies) : '?',
  ]);
  const waiting = h.nodes.filter((n) => n.pending > 0 && n.liveness !== 'down').map((n) => n.nodeId);
  return [
    ...table(['NODE', 'LIVENESS', 'PENDING', 'OLDEST', 'DELIVERED', 'RATE', 'THROTTLE', 'EXPIRED', 'UNDELIVERABLE', 'STAND-IN COPIES'], rows, new Set([2, 4, 5, 7, 8, 9])),
    '',
    `hint window ${formatAge(h.hintWindowMs)}` + (waiting.length > 0 ? `; hints waiting for nodes that are up: ${waiting.join(', ')} (being delivered)` : ''),
  ];
}

/** The ranges of one (source, receiver) pair, summed. */
interface PairProgress {
  readonly to: string;
  readonly from: string;
  ranges: number;
  complete: number;
  keysDone: number;
  bytesDone: number;
  keysLeft: number;
  bytesLeft: number;
  rate: number;
}

/** Ranges grouped by receiving node and source, in order. */
export function pairs(transfers: readonly RangeTransfer[]): PairProgress[] {
  const byKey = new Map<string, PairProgress>();
  for (const t of transfers) {
    const key = `${t.to}\u0000${t.from}`;
    let p = byKey.get(key);
    if (!p) byKey.set(key, (p = { to: t.to, from: t.from, ranges: 0, complete: 0, keysDone: 0, bytesDone: 0, keysLeft: 0, bytesLeft: 0, rate: t.rateBytesPerS }));
    p.ranges += 1;
    if (t.complete) p.complete += 1;
    p.keysDone += t.keysDone;
    p.bytesDone += t.bytesDone;
    p.keysLeft += t.complete ? 0 : t.keysLeft;
    p.bytesLeft += t.complete ? 0 : t.bytesLeft;
  }
  return [...byKey.values()].sort((a, b) => (a.to === b.to ? a.from.localeCompare(b.from) : a.to.localeCompare(b.to)));
}

/** A bar of `width` cells filled to `fraction` (0..1). */
export function progressBar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

/** How far a pair is: by bytes when sizes are known, else by ranges complete. */
function fractionOf(p: PairProgress): number {
  const total = p.bytesDone + p.bytesLeft;
  if (p.complete === p.ranges) return 1;
  return total > 0 ? p.bytesDone / total : p.ranges > 0 ? p.complete / p.ranges : 0;
}

/** `qkv cluster transfers`: one line per source → receiver, with a bar on a terminal. */
export function formatTransfers(t: ClusterTransfers, bars: boolean): string[] {
  const throttle = `streaming throttle ${formatBytes(t.streamThroughputBytesPerS)}/s per receiving node`;
  if (t.transfers.length === 0) return [`no ranges moving (${throttle})`];
  const epoch = t.transfers[0]?.epoch ?? 0;
  const lines = [`ring epoch ${epoch}: ${t.transfers.length} range(s) moving (${throttle})`];
  for (const p of pairs(t.transfers)) {
    const fraction = fractionOf(p);
    const done = `${p.complete}/${p.ranges} ranges, ${p.keysDone} keys, ${formatBytes(p.bytesDone)}`;
    const left = p.complete === p.ranges ? 'done' : `${p.keysLeft} keys, ${formatBytes(p.bytesLeft)} left`;
    const rate = p.rate > 0 ? `${formatBytes(p.rate)}/s` : '-';
    const eta = p.complete === p.ranges ? '' : `, ETA ${formatDuration(p.rate > 0 ? p.bytesLeft / p.rate : 0)}`;
    const head = `  ${p.from} -> ${p.to}`;
    lines.push(bars ? `${head}  ${progressBar(fraction)} ${Math.floor(fraction * 100)}%` : `${head}  ${Math.floor(fraction * 100)}%`);
    lines.push(`      ${done}; ${left}; ${rate}${eta}`);
  }
  return lines;
}

/**
 * The throttle argument: a whole number of bytes per second, optionally with a binary unit
 * (`24MiB`, `512KiB`, `1GiB`; `k`/`m`/`g` are taken as KiB/MiB/GiB).
 * @throws UsageError naming the argument
 */
export function parseBytesPerSecond(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?(?:\/s)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`BYTES_PER_S must be a number of bytes per second (e.g. 25165824 or 24MiB), got '${text}'`, 'cluster');
  const unit = (m[2] ?? 'b').toLowerCase()[0];
  const scale = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  const value = Math.round(Number(m[1]) * scale);
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`BYTES_PER_S must be at least 1, got '${text}'`, 'cluster');
  return value;
}
