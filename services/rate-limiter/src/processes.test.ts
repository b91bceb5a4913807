/**
 * The rate limiter as real processes (`dist/main.js`, built by `npx tsc -b services/rate-limiter`):
 * three replicas holding a hard limit exactly under concurrent load, and the binary's behaviour.
 */
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceProcess, withReservedPorts, type PortReservation } from '@quorumkv/local-cluster';
import { rls, ratelimitAdmin } from '@quorumkv/proto';
import { request, tempDir, writeRules } from './test-harness.js';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const Code = rls.RateLimitResponse_Code;

const LIMIT = 250;
const KEYS = 4;
const REQUESTS = 2_400;
const IN_FLIGHT = 64;

/** A unary call with generated (de)serializers on a plain client. */
function call<Req, Res>(client: Client, path: string, encode: (r: Req) => Uint8Array, decode: (b: Buffer) => Res, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (r: Req) => Buffer.from(encode(r)),
      decode,
      req,
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (err: ServiceError | null, res?: Res) => (err || res === undefined ? reject(err ?? new Error('no response')) : resolve(res)),
    );
  });
}

const shouldRateLimit = (client: Client, req: rls.RateLimitRequest): Promise<rls.RateLimitResponse> =>
  call(client, '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit', (r: rls.RateLimitRequest) => rls.RateLimitRequest.encode(r).finish(), (b: Buffer) => rls.RateLimitResponse.decode(b), req);

const listRules = (client: Client): Promise<ratelimitAdmin.ListRulesResponse> =>
  call(client, '/quorumkv.ratelimit.v1.RateLimitAdminService/ListRules', (r: ratelimitAdmin.ListRulesRequest) => ratelimitAdmin.ListRulesRequest.encode(r).finish(), (b: Buffer) => ratelimitAdmin.ListRulesResponse.decode(b), { domain: '' });

describe('three rate-limiter processes', () => {
  const dir = tempDir();
  const replicas: ServiceProcess[] = [];
  const clients: Client[] = [];
  let reservation: PortReservation | undefined;

  beforeAll(async () => {
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npx tsc -b services/rate-limiter\` first`);
    writeRules(dir, { 'exact.yaml': `domain: exact\ndescriptors:\n  - key: key\n    rate_limit: {unit: year, requests_per_unit: ${LIMIT}}\n` });
    // The replicas list each other, so their ports are reserved before any starts (port 0
    // cannot serve); if a port turns out taken, all three start again on others.
    ({ reservation } = await withReservedPorts(3, async (ports) => {
      const list = ports.map((p, i) => `rl-${i + 1}=127.0.0.1:${p}`).join(',');
      const started = await Promise.allSettled(
        ports.map((p, i) =>
          ServiceProcess.start({
            name: `rl-${i + 1}`,
            entry,
            // A generous forward timeout: on a loaded 2-core machine a timeout would let the
            // failure mode answer, and this test is about the owner answering every time.
            args: ['--rules', dir, '--listen', `127.0.0.1:${p}`, '--id', `rl-${i + 1}`, '--replicas', list, '--forward-timeout-ms', '10000'],
          }),
        ),
      );
      const up = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) {
        await Promise.all(up.map((r) => r.stop(5_000)));
        throw failed.reason;
      }
      replicas.push(...up);
    }));
    for (const r of replicas) clients.push(new Client(r.address, credentials.createInsecure()));
  }, 30_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(replicas.map((r) => r.stop(5_000)));
    reservation?.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`admit exactly ${LIMIT} per key over ${REQUESTS} concurrent requests spread over every replica`, async () => {
    const admitted = new Array<number>(KEYS).fill(0);
    const refused = new Array<number>(KEYS).fill(0);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < REQUESTS) {
        const i = next++;
        // Every key reaches every replica: key i % KEYS, replica ⌊i / KEYS⌋ % 3.
        const key = i % KEYS;
        const res = await shouldRateLimit(clients[Math.floor(i / KEYS) % clients.length]!, request('exact', [['key', `k${key}`]]));
        if (res.overallCode === Code.OK) admitted[key]!++;
        else if (res.overallCode === Code.OVER_LIMIT) refused[key]!++;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    expect(admitted).toEqual(new Array<number>(KEYS).fill(LIMIT));
    expect(refused).toEqual(new Array<number>(KEYS).fill(REQUESTS / KEYS - LIMIT));
    const stats = await Promise.all(clients.map((c) => listRules(c)));
    // Every decision was made once, by its key's owner; none by the failure mode.
    expect(stats.reduce((sum, s) => sum + (s.replica?.ownedDecisions ?? 0n), 0n)).toBe(BigInt(REQUESTS));
    expect(stats.map((s) => s.replica?.ownerUnreachable)).toEqual([0n, 0n, 0n]);
    expect(stats.reduce((sum, s) => sum + (s.replica?.forwardedDecisions ?? 0n), 0n)).toBeGreaterThan(0n);
    // Each replica counted the hits it received: together, every request once.
    const hits = stats.map((s) => s.rules.find((r) => r.id === 'exact.key')?.counters?.totalHits ?? 0n);
    expect(hits.reduce((a, b) => a + b, 0n)).toBe(BigInt(REQUESTS));
  });

  it('report SERVING on the standard health check once the rules are loaded', async () => {
    const res = await call(clients[0]!, '/grpc.health.v1.Health/Check', () => new Uint8Array(0), (b: Buffer) => b, {});
    // HealthCheckResponse { status: SERVING (1) }
    expect([...res]).toEqual([0x08, 0x01]);
  });
});

describe('the quorumkv-rate-limiter binary', () => {
  it('prints its settings with --help, also through the workspace bin from the repository root', () => {
    const direct = spawnSync(process.execPath, [entry, '--help'], { encoding: 'utf8' });
    expect(direct.status).toBe(0);
    for (const flag of ['--rules', '--listen', '--id', '--replicas', '--failure-mode', '--headers', '--forward-timeout-ms']) expect(direct.stdout).toContain(flag);
    expect(direct.stdout).toContain('127.0.0.1:8081');
    const viaBin = spawnSync(`${repoRoot}node_modules/.bin/quorumkv-rate-limiter`, ['--help'], { encoding: 'utf8', cwd: repoRoot });
    expect(viaBin.status).toBe(0);
    expect(viaBin.stdout).toContain('Usage: quorumkv-rate-limiter');
  });

  it('refuses to start without --rules, naming the setting (exit 2)', () => {
    const r = spawnSync(process.execPath, [entry], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--rules');
  });

  it('refuses to start on invalid rules, quoting file, line and problem (exit 1)', () => {
    const dir = tempDir();
    try {
      writeRules(dir, { 'bad.yaml': 'domain: x\ndescriptors:\n  - key: k\n    rate_limit: {unit: minute, requests_per_unit: -1}\n' });
      const r = spawnSync(process.execPath, [entry, '--rules', dir, '--listen', '127.0.0.1:0'], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' } });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/bad\.yaml:4:\d+: descriptors\[0\]\.rate_limit\.requests_per_unit/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('logs a JSON "listening" line with its address and exits 0 after draining on SIGTERM', async () => {
    const dir = tempDir();
    writeRules(dir, { 'a.yaml': 'domain: a\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, requests_per_unit: 1}\n' });
    const p = await ServiceProcess.start({ name: 'rl', entry, args: ['--rules', dir, '--listen', '127.0.0.1:0'] });
    try {
      expect(p.address).toMatch(/^127\.0\.0\.1:\d+$/);
      // The README's way to list the rules, with `buf curl` (npm ci installs buf; grpcurl is not in Debian).
      const listed = spawnSync(
        `${repoRoot}node_modules/.bin/buf`,
        ['curl', '--schema', 'proto', '--protocol', 'grpc', '--http2-prior-knowledge', '-d', '{}', `http://${p.address}/quorumkv.ratelimit.v1.RateLimitAdminService/ListRules`],
        { encoding: 'utf8', cwd: repoRoot, timeout: 30_000 },
      );
      expect(listed.status, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout)).toMatchObject({ rules: [{ domain: 'a', counters: {} }] });
      p.kill('SIGTERM');
      expect(await p.exited()).toBe(0);
    } finally {
      await p.stop(2_000);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
