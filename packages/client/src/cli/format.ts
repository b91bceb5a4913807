import type { ClusterStatus } from '../cluster-status.js';
import type { GetResult } from '../kv-client.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** C0 and C1 control characters except tab: they would break one-value-per-line output. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

/** The printable UTF-8 text of `bytes`, or undefined when they are not valid printable UTF-8. */
export function printableText(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  return CONTROL.test(text) ? undefined : text;
}

/** One value for a human: its text when printable UTF-8, else `(base64) …`. */
export function formatValue(bytes: Uint8Array): string {
  if (bytes.length === 0) return '(empty)';
  return printableText(bytes) ?? `(base64) ${Buffer.from(bytes).toString('base64')}`;
}

/**
 * `qkv get` as text: the value (or every sibling, numbered, when writers raced) and the
 * context line to pass to the next put.
 */
export function formatGet(res: GetResult): string[] {
  const lines: string[] = [];
  if (!res.found) lines.push('(not found)');
  else if (res.siblings.length === 1 && res.siblings[0]) lines.push(formatValue(res.siblings[0]));
  else {
    lines.push(`${res.siblings.length} siblings (concurrent writes; put with this context to resolve them):`);
    res.siblings.forEach((s, i) => lines.push(`  [${i + 1}] ${formatValue(s)}`));
  }
  if (res.context.length > 0) lines.push(`context: ${res.context.toString('base64')}`);
  return lines;
}

/** A value in JSON: always exact as base64, plus the text when the bytes are valid UTF-8. */
export function valueJson(bytes: Uint8Array): { base64: string; text?: string } {
  const base64 = Buffer.from(bytes).toString('base64');
  try {
    return { base64, text: utf8.decode(bytes) };
  } catch {
    return { base64 };
  }
}

/** `qkv get --json`. */
export function getJson(res: GetResult): { found: boolean; siblings: { base64: string; text?: string }[]; context: string } {
  return { found: res.found, siblings: res.siblings.map(valueJson), context: res.context.toString('base64') };
}

/** A ring share (0..1) as a percentage with one decimal. */
export function formatShare(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** `qkv status` as a table: node id, address, up/down, ring share, keys; then a summary line. */
export function formatStatus(status: ClusterStatus): string[] {
  const header = ['NODE', 'ADDRESS', 'STATE', 'RING SHARE', 'KEYS'];
  const rows = status.nodes.map((n) => [n.id, n.address, n.up ? 'up' : 'down', formatShare(n.ringShare), n.keyCount.toString()]);
  const rightAligned = new Set([3, 4]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const up = status.nodes.filter((n) => n.up).length;
  return [
    line(header),
    ...rows.map(line),
    '',
    `${up}/${status.nodes.length} nodes up, replication factor ${status.replicationFactor}, ${status.vnodesPerNode} vnodes per node`,
  ];
}

/** JSON text of `value`; bigints become numbers when exact, else decimal strings. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  });
}
