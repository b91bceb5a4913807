import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster, reservePorts } from '@quorumkv/local-cluster';
import { E2E_TLS } from '../support/test-cluster.js';

/** Pids of live processes whose command line mentions `text` (read from /proc). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('a cluster that cannot start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'qkv-launch-fail-'));
  afterAll(() => {
    for (const pid of processesMentioning(dataDir)) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('says which port is taken and leaves no service process behind', async () => {
    // Three consecutive reserved ports for the nodes' /metrics, so no other test gets them.
    const block = await reservePorts(3, { consecutive: true });
    const [first = 0, middle = 0] = block.ports;
    const taken = await occupy(middle);
    try {
      // node-2's /metrics port is taken; node-1 and node-3 start fine and must be stopped again.
      const err = await LocalCluster.start({
        nodes: 3,
        dataDir,
        metricsPorts: { storageBase: first },
        logToFiles: false,
        tls: E2E_TLS,
      }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/node-2 did not start/);
      expect(err?.message).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${middle} for /metrics: the address is already in use`));
      expect(err?.message).not.toMatch(/\n\s+at /); // a plain message, not a stack trace
      expect(processesMentioning(dataDir)).toEqual([]);
    } finally {
      taken.close();
      block.release();
    }
  });
});
