import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@quorumkv/service-kit';
import { ReadRepair } from './read-repair.js';
import { ReplicaClient } from './replica-client.js';
import type { ReplicaTransport } from './replica-pool.js';

/** The top-level keys of one JSON object line, in order, duplicates kept (JSON.parse drops them). */
function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let j = i + 1;
      while (line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(line.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return keys;
}

/** A logger built as the coordinator's main.ts builds it (its own `node` on every line), captured. */
function coordinatorLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, callback) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      callback();
    },
  });
  return { logger: createLogger({ service: 'coordinator', node: 'host/1234', level: 'debug', destination }), lines };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe("the coordinator's log lines", () => {
  it("name a replica under `replica`, never in a second `node` key beside the coordinator's own", async () => {
    const { logger, lines } = coordinatorLogger();
    // A replica stream that goes down (nothing listens), and a read repair that fails.
    const client = new ReplicaClient({ nodeId: 'node-2', address: '127.0.0.1:1', logger, backoff: { initialMs: 5, maxMs: 5 } });
    cleanups.push(() => client.close());
    client.start();
    const failing: ReplicaTransport = {
      read: () => Promise.resolve({ versions: [], applied: [] }),
      coordinate: () => Promise.reject(new Error('unused')),
      merge: () => Promise.reject(new Error('stream broken')),
      isUp: () => true,
    };
    const repair = new ReadRepair({ transport: failing, logger, timeoutMs: 100 });
    // node-1 answered a version node-3 lacks: node-3 gets a repair, which fails.
    type Attempts = Parameters<ReadRepair['afterRead']>[1];
    const version = { dot: { node: 'node-1', counter: 1 }, context: [], value: Buffer.from('v'), tombstone: false, writtenAtMs: 1 };
    const attempts = [
      { node: 'node-1', result: Promise.resolve({ versions: [version], applied: [] }) },
      { node: 'node-3', result: Promise.resolve({ versions: [], applied: [] }) },
    ] as unknown as Attempts;
    await repair.afterRead(Buffer.from('k'), attempts, 1);
    await new Promise((r) => setTimeout(r, 100));
    client.close();
    await new Promise((r) => setImmediate(r));

    const about = lines.filter((l) => l.includes('node-2') || l.includes('node-3'));
    expect(about.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) {
      const keys = topLevelKeys(line);
      expect(keys.filter((k) => k === 'node'), line).toEqual(['node']);
      expect(JSON.parse(line)).toMatchObject({ node: 'host/1234' });
    }
    expect(about.every((l) => /"replica":"node-[23]"/.test(l))).toBe(true);
  });
});
