/**
 * Throughput of one Replicate stream from one client: coordinate writes (blind, distinct keys,
 * 100-byte values) kept at a fixed number in flight against a storage node in its own process,
 * without and with a 16-byte request id (what the SDK sends; the node then records it in the
 * key's record). Reads of the same keys over the same stream run in the same run as the baseline
 * (the stream's cost without a write). Not a test: run it by hand after building.
 *
 *   npx tsc -b services/storage-node && node services/storage-node/dist/bench-coordinate.js [ops] [inFlight] [--sync]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { storage } from '@quorumkv/proto';
import { startNode } from './testing/node-process.js';
import { ReplicaStreamClient } from './testing/replica-stream-client.js';

type Op = NonNullable<storage.ReplicaRequest['op']>;

interface RunResult {
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

/** Sends `total` ops with `inFlight` outstanding at any time; measures throughput and latency. */
async function run(client: ReplicaStreamClient, total: number, inFlight: number, op: (i: number) => Op): Promise<RunResult> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      const r = await client.send(op(i));
      latencies.push(performance.now() - t0);
      if (r.result?.$case === 'error') errors += 1;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { opsPerSec: total / seconds, p50Ms: at(0.5), p99Ms: at(0.99), errors };
}

const fmt = (r: RunResult): string =>
  `${Math.round(r.opsPerSec).toString().padStart(7)} ops/s   p50 ${r.p50Ms.toFixed(2)} ms   p99 ${r.p99Ms.toFixed(2)} ms   errors ${r.errors}`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const sync = args.includes('--sync');
  const [opsArg, inFlightArg] = args.filter((a) => !a.startsWith('--'));
  const total = Number(opsArg ?? 30_000);
  const inFlight = Number(inFlightArg ?? 64);
  const dir = await mkdtemp(join(tmpdir(), 'qkv-bench-'));
  const node = await startNode(['--id', 'bench-1', '--listen', '127.0.0.1:0', '--data-dir', dir, ...(sync ? ['--sync'] : [])]);
  const client = new ReplicaStreamClient(node.address);
  const value = Buffer.alloc(100, 0x61);
  const write = (prefix: string, withId = false) => (i: number): Op => ({
    $case: 'coordinate',
    coordinate: { key: Buffer.from(`${prefix}-${i}`), context: [], value, tombstone: false, requestId: withId ? randomBytes(16) : Buffer.alloc(0) },
  });
  const read = (i: number): Op => ({ $case: 'read', read: { key: Buffer.from(`bench-${i}`), standIn: false } });
  try {
    await run(client, 3_000, inFlight, write('warmup'));
    // Rounds alternate the two kinds of write, so load from elsewhere on the machine hits both
    // alike; the ratio reported is the median of the per-round ratios.
    const ratios: number[] = [];
    let w = await run(client, total, inFlight, write('bench'));
    let wid = await run(client, total, inFlight, write('bench-id-0', true));
    ratios.push(wid.opsPerSec / w.opsPerSec);
    for (let round = 1; round < 3; round++) {
      wid = await run(client, total, inFlight, write(`bench-id-${round}`, true));
      w = await run(client, total, inFlight, write(`bench-${round}`));
      ratios.push(wid.opsPerSec / w.opsPerSec);
    }
    ratios.sort((a, b) => a - b);
    const r = await run(client, total, inFlight, read);
    const stats = await client.stats();
    process.stdout.write(
      [
        `storage-node Replicate stream, 1 client, ${inFlight} in flight, ${total} ops, 100-byte values, sync=${sync}`,
        `  coordinate (write): ${fmt(w)}`,
        `  with a request id:  ${fmt(wid)}`,
        `  read (baseline):    ${fmt(r)}`,
        `  write/read ratio:   ${(w.opsPerSec / r.opsPerSec).toFixed(2)}`,
        `  with id/without:    ${(ratios[1] ?? 0).toFixed(2)} (median of rounds ${ratios.map((x) => x.toFixed(2)).join(', ')})`,
        `  keys ${stats.keyCount}, ${(Number(stats.approximateBytes) / 1e6).toFixed(1)} MB on disk`,
        '',
      ].join('\n'),
    );
  } finally {
    client.close();
    node.child.kill('SIGTERM');
    await node.exited;
    const closed = node
      .output()
      .split('\n')
      .find((l) => l.includes('"engine closed"'));
    if (closed !== undefined) {
      const { batches, records } = JSON.parse(closed) as { batches: number; records: number };
      process.stdout.write(`  group commit: ${records} records in ${batches} batches (${(records / batches).toFixed(1)} per batch)\n`);
    }
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
