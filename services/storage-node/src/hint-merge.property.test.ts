import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { contextOf, sameVersions, type Version } from '@quorumkv/vclock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageEngine } from './engine.js';
import { captureLogger } from './testing/log-capture.js';

let dir: string;
let run = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-hint-merge-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function open(nodeId: string): Promise<StorageEngine> {
  return StorageEngine.open({ dataDir: join(dir, `${nodeId}-${run++}`), nodeId, logger: captureLogger().logger });
}

/** One write a minter makes: blind (a new sibling) or with the context of its latest set. */
const writeArb = fc.record({ blind: fc.boolean(), tombstone: fc.boolean(), value: fc.string({ maxLength: 6 }) });

describe('hint delivery is a clock merge', () => {
  it('delivering any hint again, in any order and any number of times, leaves the node exactly as delivering each once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(writeArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        fc.array(fc.integer(), { minLength: 1, maxLength: 20 }),
        async (writes, replays, alreadyHasFirst, shuffle) => {
          const minter = await open('node-1');
          const once = await open('node-2');
          const again = await open('node-3');
          try {
            // The minter's record after each write: what a hint carries.
            const records: Buffer[] = [];
            let latest: Version[] = [];
            for (const w of writes) {
              const out = await minter.coordinate(Buffer.from('k'), {
                context: w.blind ? [] : contextOf(latest),
                value: Buffer.from(w.value),
                tombstone: w.tombstone,
              });
              latest = [...out.versions];
              records.push(out.record);
            }
            // A replica that took the first write directly (the hint repeats what it holds).
            if (alreadyHasFirst) {
              await once.mergeRecord(Buffer.from('k'), records[0]!);
              await again.mergeRecord(Buffer.from('k'), records[0]!);
            }
            for (const r of records) await once.mergeRecord(Buffer.from('k'), r);
            // Every hint at least once, redeliveries of arbitrary hints, all in an arbitrary order.
            const order = [...records.keys(), ...replays.map((i) => i % records.length)]
              .map((i, n) => ({ i, rank: shuffle[n % shuffle.length]! + n / 1000 }))
              .sort((x, y) => x.rank - y.rank);
            for (const { i } of order) await again.mergeRecord(Buffer.from('k'), records[i]!);
            const a = await once.read(Buffer.from('k'));
            const b = await again.read(Buffer.from('k'));
            expect(sameVersions(a, b)).toBe(true);
            expect(sameVersions(a, await minter.read(Buffer.from('k')))).toBe(true);
            expect((await again.stats()).keyCount).toBe(1);
          } finally {
            await Promise.all([minter.close(), once.close(), again.close()]);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
