import { afterAll, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@quorumkv/local-cluster';

/** Free-ish ports for the fixed-port launcher: a block away from the defaults. */
const base = 20_000 + (process.pid % 2_000) * 10;
const ports = { coordinator: base, storage: base + 1, rateLimiter: base + 5, metrics: base + 6, storageMetrics: base + 7 };

function qkv(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [join(repoRoot, 'packages/client/bin/qkv.js'), '--addr', `127.0.0.1:${ports.coordinator}`, ...args],
      { timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe('the Quick start: the launcher behind `npm start`, then `qkv` from another shell', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'qkv-quickstart-'));
  let launcher: ChildProcess | undefined;
  afterAll(() => {
    launcher?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts the cluster, serves qkv put/get/status, and stops every process on Ctrl-C (SIGINT)', async () => {
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, 'packages/local-cluster/dist/main.js'),
        '--data-dir', dataDir,
        '--port', String(ports.coordinator),
        '--storage-port', String(ports.storage),
        '--rate-limiter-port', String(ports.rateLimiter),
        '--metrics-port', String(ports.metrics),
        '--storage-metrics-port', String(ports.storageMetrics),
        '--rate-limiter-metrics-port', String(ports.storageMetrics + 3),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    launcher = child;
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the launcher did not come up within 30 s:\n${out}`)), 30_000);
      child.stdout.on('data', () => {
        if (out.includes('Press Ctrl-C to stop.')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => reject(new Error(`the launcher exited early:\n${out}`)));
    });
    expect(out).toContain(`Coordinator (KeyValueService): 127.0.0.1:${ports.coordinator}`);
    expect(out).toContain(`/metrics`);

    const put = await qkv(['put', 'greeting', 'hello']);
    expect(put, put.stderr).toMatchObject({ code: 0 });
    expect(put.stdout).toMatch(/^ok\ncontext: \S+/);
    const get = await qkv(['get', 'greeting']);
    expect(get.stdout).toMatch(/^hello\ncontext: \S+/);
    const status = await qkv(['status']);
    expect(status.stdout).toContain('3/3 nodes up');
    const missing = await qkv(['get', '']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('Stopped.');
    // Nothing listens any more: the coordinator is gone with the rest.
    const after = await qkv(['status', '--timeout', '1000']);
    expect(after.code).not.toBe(0);
    expect(after.stderr).toMatch(/cannot reach the coordinator/);
  });
});
