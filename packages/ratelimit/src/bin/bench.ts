/**
 * Cost of one decision and memory per key, for each of the five algorithms.
 *
 *   npm run -w @quorumkv/ratelimit bench            (node --expose-gc dist/bin/bench.js)
 *
 * Time: DECISIONS decisions spread round-robin over KEYS keys, the clock advancing 1 ms per
 * decision, with a limit of 5 per minute so about one decision in six is refused (both paths
 * run). Reported next to a baseline that does the same loop and key lookup with a limiter that
 * decides nothing, since absolute times drift on shared machines: read the ratios.
 *
 * Memory: heap growth after a full GC for MEMORY_KEYS limiters, each after one decision (the
 * sliding log also with 10 and 100 hits logged at distinct times), divided by the number of keys. The array
 * that holds them is allocated before the first measurement.
 */
import { parseArgs } from 'node:util';
import { createLimiter } from '../create-limiter.js';
import { ALGORITHMS, type AlgorithmName, type Decision, type Limiter, type LimitPolicy } from '../policy.js';

const KEYS = 10_000;
const DECISIONS = 1_000_000;
const MEMORY_KEYS = 100_000;
const ROUNDS = 7;

const gc = (globalThis as { gc?: () => void }).gc;

const ALLOW: Decision = { allowed: true, limit: 1, remaining: 1, resetAfterMs: 0, retryAfterMs: 0 };
/** The baseline: the loop, the key lookup and a call, without any decision logic. */
class NoopLimiter implements Limiter {
  decide(): Decision {
    return ALLOW;
  }
  refund(): Decision {
    return ALLOW;
  }
  sizeBytes(): number {
    return 0;
  }
}

function policy(algorithm: AlgorithmName): LimitPolicy {
  return { algorithm, requestsPerUnit: 5, unit: 'minute' };
}

function timeDecisions(make: () => Limiter): { ns: number; allowedShare: number } {
  const map = new Map<string, Limiter>();
  const keys: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    const k = `caller-${i}`;
    keys.push(k);
    map.set(k, make());
  }
  let allowed = 0;
  // Collect the previous run's garbage now, not inside this run's timing.
  gc?.();
  const start = process.hrtime.bigint();
  for (let i = 0; i < DECISIONS; i++) {
    const l = map.get(keys[i % KEYS] ?? '');
    if (l !== undefined && l.decide(1, i).allowed) allowed++;
  }
  const ns = Number(process.hrtime.bigint() - start) / DECISIONS;
  return { ns, allowedShare: allowed / DECISIONS };
}

function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

function bytesPerKey(make: () => Limiter, warm: (l: Limiter) => void): number {
  const held: (Limiter | null)[] = new Array<Limiter | null>(MEMORY_KEYS).fill(null);
  const before = heapUsed();
  for (let i = 0; i < MEMORY_KEYS; i++) {
    const l = make();
    warm(l);
    held[i] = l;
  }
  const after = heapUsed();
  const perKey = (after - before) / MEMORY_KEYS;
  // Keep `held` alive until after the measurement.
  if (held[MEMORY_KEYS - 1] === null) throw new Error('unreachable');
  return perKey;
}

const USAGE = `Usage: npm run -w @quorumkv/ratelimit bench -- [options]

Cost of one decision and memory per key for each of the five algorithms, next to a no-op
baseline, as a markdown table.

Options:
  --dry-run  print how long it takes and exit
  --help     print this text and exit`;

/**
 * --help, --dry-run, or a one-line error and exit 2. (Not the benchmarks' shared helper in
 * test/bench: a library does not import test code, and this script takes no options.)
 */
function readArgs(): void {
  let values: { help?: boolean; 'dry-run'?: boolean };
  try {
    ({ values } = parseArgs({ options: { help: { type: 'boolean' }, 'dry-run': { type: 'boolean' } }, strict: true }));
  } catch (err) {
    process.stderr.write(`${(err instanceof Error ? err.message : String(err)).split('\n')[0]} (${USAGE.split('\n')[0]}; --help for more)\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  process.stderr.write(`takes about 10 s: ${ROUNDS} rounds × ${ALGORITHMS.length + 1} limiters × ${DECISIONS / 1e6}M decisions, then memory over ${MEMORY_KEYS / 1000}k keys each\n`);
  if (values['dry-run']) process.exit(0);
}

/** Round `r` of the timing, or the memory pass: one line rewritten on a terminal, plain lines otherwise. */
function progress(what: string): void {
  process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${what}` : `${what}\n`);
}

function main(): void {
  readArgs();
  if (gc === undefined) {
    process.stderr.write('run with node --expose-gc for memory figures\n');
  }
  const rows: { name: string; ns: number; allowed: number; bytes: number; sizeBytes: number }[] = [];
  const candidates: [string, () => Limiter][] = [
    ['baseline (no-op)', () => new NoopLimiter()],
    ...ALGORITHMS.map((a): [string, () => Limiter] => [a, () => createLimiter(policy(a))]),
  ];
  // Interleave rounds so drift hits every algorithm alike; keep the best round of each.
  const best = new Map<string, { ns: number; allowedShare: number }>();
  for (let r = 0; r < ROUNDS; r++) {
    progress(`round ${r + 1}/${ROUNDS}: ns per decision`);
    for (const [name, make] of candidates) {
      const t = timeDecisions(make);
      const prev = best.get(name);
      if (prev === undefined || t.ns < prev.ns) best.set(name, t);
    }
  }
  progress('memory per key');
  for (const [name, make] of candidates) {
    const t = best.get(name);
    if (t === undefined) continue;
    const bytes = bytesPerKey(make, (l) => l.decide(1, 0));
    const sample = make();
    sample.decide(1, 0);
    rows.push({ name, ns: t.ns, allowed: t.allowedShare, bytes, sizeBytes: sample.sizeBytes() });
  }
  const logged = [10, 100].map((n) => ({ n, bytes: bytesPerKey(() => logWithHits(0), (l) => fill(l, n)), sizeBytes: logWithHits(n).sizeBytes() }));
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  const baseline = rows[0]?.ns ?? 1;
  const out: string[] = [];
  out.push(`node ${process.version}, ${DECISIONS} decisions over ${KEYS} keys (5/minute, 1 ms apart), best of ${ROUNDS}; memory over ${MEMORY_KEYS} keys`);
  out.push('');
  out.push('| algorithm | ns/decision | × baseline | admitted | bytes/key (measured) | sizeBytes() |');
  out.push('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    out.push(`| ${r.name} | ${r.ns.toFixed(1)} | ${(r.ns / baseline).toFixed(2)} | ${(r.allowed * 100).toFixed(0)}% | ${r.bytes.toFixed(0)} | ${r.sizeBytes} |`);
  }
  for (const l of logged) {
    out.push(`| sliding_window_log, ${l.n} hits logged | | | | ${l.bytes.toFixed(0)} | ${l.sizeBytes} |`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

/** A sliding log with a limit high enough to hold `n` hits at distinct times. */
function logWithHits(n: number): Limiter {
  const l = createLimiter({ algorithm: 'sliding_window_log', requestsPerUnit: 1000, unit: 'minute' });
  fill(l, n);
  return l;
}

function fill(l: Limiter, n: number): void {
  for (let i = 0; i < n; i++) l.decide(1, i);
}

main();
