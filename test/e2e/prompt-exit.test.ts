/**
 * A service asked to stop is gone promptly once it has drained: a storage node on SIGTERM and
 * the rate limiter on SIGINT (Ctrl-C when run by hand) exit 0 within a second, after serving
 * traffic with a coordinator connected to both. The drain itself takes a few ms here (nothing
 * in flight); the bound is generous for a loaded machine and far below the ~2 s a slow exit took.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, type ServiceProcess } from '@quorumkv/local-cluster';
import { clusterCredentials, E2E_TLS, KvCalls } from '../support/test-cluster.js';

const BOUND_MS = 1_000;

/** Sends `signal` and measures until the process is gone. */
async function stopWith(p: ServiceProcess, signal: NodeJS.Signals): Promise<{ ms: number; code: number | null; signal: NodeJS.Signals | null }> {
  const started = performance.now();
  p.kill(signal);
  const exit = await p.exit();
  return { ms: performance.now() - started, ...exit };
}

describe('prompt exit after a stop signal', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'qkv-exit-'));
  let cluster: LocalCluster;
  let calls: KvCalls;

  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3, dataDir, rateLimiterPort: 0, env: { LOG_LEVEL: 'info' }, tls: E2E_TLS });
    calls = new KvCalls(cluster.address, clusterCredentials(cluster));
    // Traffic first: streams from the coordinator to every node and to the rate limiter are open.
    for (let i = 0; i < 50; i++) await calls.put({ key: Buffer.from(`k${i}`), value: Buffer.from('v') });
  });

  afterAll(async () => {
    calls.close();
    await cluster.stop(5_000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`a storage node exits 0 within ${BOUND_MS} ms of SIGTERM, having logged "stopped"`, async () => {
    const exit = await stopWith(cluster.node('node-2').process, 'SIGTERM');
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(BOUND_MS);
    expect(readFileSync(join(dataDir, 'logs', 'node-2.log'), 'utf8')).toMatch(/"msg":"stopped"/);
  });

  it(`the rate limiter exits 0 within ${BOUND_MS} ms of SIGINT, having logged "stopped"`, async () => {
    const limiter = cluster.rateLimiter;
    if (!limiter) throw new Error('no rate limiter');
    const exit = await stopWith(limiter, 'SIGINT');
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(BOUND_MS);
    expect(readFileSync(join(dataDir, 'logs', 'rate-limiter.log'), 'utf8')).toMatch(/"msg":"stopped"/);
  });
});
