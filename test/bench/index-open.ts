/**
 * How long a storage node's first open of a data folder written before the ring-position index
 * takes (it builds the index once), against an open of the same folder with the index in place,
 * measured in one run. `node test/dist/bench/index-open.js [KEYS]` (default 100,000 keys of
 * 100-byte values, one version each).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { createLogger } from '@quorumkv/service-kit';
import { INDEX_END, INDEX_START, StorageEngine } from '@quorumkv/storage-node';

const keys = Number(process.argv[2] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'qkv-index-open-'));
const dataDir = join(dir, 'db');
const logger = createLogger({ service: 'bench', node: 'bench', level: 'warn' });

async function openClose(): Promise<number> {
  const started = performance.now();
  const engine = await StorageEngine.open({ dataDir, nodeId: 'node-1', logger });
  const ms = performance.now() - started;
  await engine.close();
  return ms;
}

try {
  const engine = await StorageEngine.open({ dataDir, nodeId: 'node-1', logger });
  const value = Buffer.alloc(100, 7);
  for (let i = 0; i < keys; i += 256) {
    const writes: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(keys, i + 256); j++) writes.push(engine.coordinate(Buffer.from(`key-${j}`), { context: [], value, tombstone: false }));
    await Promise.all(writes);
  }
  await engine.close();
  // The first open after the writes replays LevelDB's log into a table: not what is measured.
  await openClose();
  const withIndex = await openClose();
  const db = new ClassicLevel<Buffer, Buffer>(dataDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  await db.clear({ gte: INDEX_START, lt: INDEX_END });
  await db.del(Buffer.from('mposition-index'));
  await db.compactRange(INDEX_START, INDEX_END);
  await db.close();
  const building = await openClose();
  const after = await openClose();
  process.stdout.write(
    `${keys} keys: open with the index ${withIndex.toFixed(0)} ms; first open of a folder without it (builds it) ${building.toFixed(0)} ms ` +
      `(${(building / withIndex).toFixed(2)}x); next open ${after.toFixed(0)} ms\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
