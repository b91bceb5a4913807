import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devTlsArgs, ensureDevCertificates, repoRoot, ServiceProcess, serviceEntry, serviceNodeArgs, type DevCertificates } from '@quorumkv/local-cluster';
import { E2E_TLS, startTestCluster, type TestCluster } from '../support/test-cluster.js';

/**
 * Runs one of the Python interop clients against `address`; resolves with what it printed.
 * With `tlsDir` (ca.pem, client.pem, client-key.pem) it connects with mutual TLS.
 */
function runPython(script: string, address: string, tlsDir?: string): Promise<string> {
  return new Promise<string>((resolve, reject) =>
    execFile(
      '/usr/bin/python3',
      [join(repoRoot, 'test/interop', script), address, join(repoRoot, 'proto'), ...(tlsDir === undefined ? [] : [tlsDir])],
      { timeout: 30_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout)),
    ),
  );
}

describe('an independent client in another language', () => {
  let t: TestCluster;
  beforeAll(async () => {
    t = await startTestCluster({ nodes: 3 });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('puts, sees siblings, resolves them and deletes from Python built only from proto/', async () => {
    expect(await runPython('kv_client.py', t.cluster.address, t.cluster.tls?.dir)).toContain('python interop: all checks passed');
  });
});

describe('the rate limiter from a gRPC C-core client (Python), built only from Envoy\'s protos', () => {
  let rulesDir: string;
  let limiter: ServiceProcess | undefined;
  let tls: DevCertificates | undefined;
  beforeAll(async () => {
    rulesDir = mkdtempSync(join(tmpdir(), 'qkv-interop-rules-'));
    writeFileSync(join(rulesDir, 'interop.yaml'), 'domain: interop\ndescriptors:\n  - key: user\n    rate_limit: {unit: minute, requests_per_unit: 3}\n');
    tls = E2E_TLS ? await ensureDevCertificates(rulesDir) : undefined;
    limiter = await ServiceProcess.start({
      name: 'rate-limiter',
      entry: serviceEntry('rate-limiter'),
      nodeArgs: serviceNodeArgs('rate-limiter'),
      args: ['--rules', rulesDir, '--listen', '127.0.0.1:0', ...(tls ? devTlsArgs(tls, 'rate-limiter') : [])],
    });
  });
  afterAll(async () => {
    await limiter?.stop();
    rmSync(rulesDir, { recursive: true, force: true });
  });

  it('decides up to the limit and past it, refuses a bad request, and serves gzip, deadlines and metadata', async () => {
    // ShouldRateLimit is served straight from HTTP/2; the gzip request goes to grpc-js.
    const out = await runPython('ratelimit_client.py', limiter!.address, tls?.dir);
    expect(out).toContain("four calls against a limit of 3: ['OK', 'OK', 'OK', 'OVER_LIMIT']");
    expect(out).toContain('hits_addend 0 on a used-up key: OK x3, limit_remaining [0, 0, 0]');
    expect(out).toContain("is_negative_hits 2 gives two hits back: limit_remaining 2, then ['OK', 'OK', 'OVER_LIMIT']");
    expect(out).toContain('python rate-limit interop: all checks passed');
  });
});
