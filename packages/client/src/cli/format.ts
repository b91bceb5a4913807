import type { ClusterStatus } from '../cluster-status.js';
import type { GetResult } from '../kv-client.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** C0 and C1 control characters except tab: they would break one-value-per-line output. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

/** The UTF-8 text of `bytes`, or undefined when they are not valid UTF-8 (binary). */
export function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The printable UTF-8 text of `bytes`, or undefined when they are not valid printable UTF-8. */
export function printableText(bytes: Uint8Array): string | undefined {
  const text = utf8Text(bytes);
  return text === undefined || CONTROL.test(text) ? undefined : text;
}

/**
 * `text` as a double-quoted string with JSON's escapes (`\n`, `\t`, `\"`, `\\`, `\u0000`), also
 * escaping C1 controls and the Unicode line and paragraph separators, which JSON leaves raw and
 * which would break a line on a terminal.
 */
export function quoteText(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\u009f\u2028\u2029]/g, (ch) => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/**
 * Whether printable text must be quoted to be read back exactly: leading or trailing blanks
 * (invisible), a tab or a Unicode line separator, or a start that looks like a quoted value or one of qkv's markers.
 */
function needsQuotes(text: string): boolean {
  return /^\s|\s$|[\t\u2028\u2029]/.test(text) || text.startsWith('"') || /^\((empty|not found|base64)\)/.test(text);
}

/**
 * One value for a human, on one line: UTF-8 text as it is (`hello`), quoted with escapes when it
 * holds a line break or another control character or would be ambiguous (`"line1\nline2"`),
 * `(empty)` for no bytes, and `(base64) …` only for bytes that are not UTF-8.
 */
export function formatValue(bytes: Uint8Array): string {
  if (bytes.length === 0) return '(empty)';
  const text = utf8Text(bytes);
  if (text === undefined) return `(base64) ${Buffer.from(bytes).toString('base64')}`;
  return CONTROL.test(text) || needsQuotes(text) ? quoteText(text) : text;
}

/** How `qkv get` prints values (`--format`). */
export const VALUE_FORMATS = ['text', 'raw', 'base64', 'json'] as const;
export type ValueFormat = (typeof VALUE_FORMATS)[number];

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
  const text = utf8Text(bytes);
  return text === undefined ? { base64 } : { base64, text };
}

/** `qkv get --format base64`: each sibling as base64 on its own line, then the context. */
export function formatGetBase64(res: GetResult): string[] {
  const lines = res.found ? res.siblings.map((s) => s.toString('base64')) : ['(not found)'];
  if (res.context.length > 0) lines.push(`context: ${res.context.toString('base64')}`);
  return lines;
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
