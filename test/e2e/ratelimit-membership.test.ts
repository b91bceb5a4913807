/**
 * Rate-limiter replicas that take their peers from the cluster's gossip (`--seeds`), as real
 * processes: a counter key has exactly one owner among the live replicas, so a limit holds
 * exactly while nothing changes; when the owner is killed -9, its keys go to their successor
 * and a window admits at most one extra limit (the bound services/rate-limiter/README.md
 * documents); and ownership follows replicas as they come and go.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { reservePorts, ServiceProcess, serviceEntry, type PortReservation } from '@quorumkv/local-cluster';
import { ratelimitAdmin, rls } from '@quorumkv/proto';
import { waitUntil } from '@quorumkv/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const LIMIT = 20;
const Code = rls.RateLimitResponse_Code;

function unaryCall<Req, Res>(client: Client, path: string, encode: (r: Req) => Uint8Array, decode: (b: Buffer) => Res, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(path, (r: Req) => Buffer.from(encode(r)), decode, req, new Metadata(), { deadline: Date.now() + 10_000 }, (err: ServiceError | null, res?: Res) =>
      err || res === undefined ? reject(err ?? new Error('no answer')) : resolve(res),
    );
  });
}

/** One ShouldRateLimit of `value` under rule key `key`: true when admitted. */
async function admitted(client: Client, value: string): Promise<boolean> {
  const req = rls.RateLimitRequest.fromPartial({ domain: 'exact', descriptors: [{ entries: [{ key: 'key', value }] }] });
  const res = await unaryCall(client, '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit', (r: rls.RateLimitRequest) => rls.RateLimitRequest.encode(r).finish(), (b: Buffer) => rls.RateLimitResponse.decode(b), req);
  return res.overallCode === Code.OK;
}

function listRules(client: Client): Promise<ratelimitAdmin.ListRulesResponse> {
  return unaryCall(client, '/quorumkv.ratelimit.v1.RateLimitAdminService/ListRules', (r: ratelimitAdmin.ListRulesRequest) => ratelimitAdmin.ListRulesRequest.encode(r).finish(), (b: Buffer) => ratelimitAdmin.ListRulesResponse.decode(b), { domain: '' });
}

interface Limiter {
  readonly id: string;
  readonly process: ServiceProcess;
  readonly client: Client;
}

describe('rate limiters whose peers come from membership (gossip)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-rl-membership-'));
  const limiters: Limiter[] = [];
  let membership: ServiceProcess | undefined;
  let ports: PortReservation | undefined;
  let seeds = '';

  async function startLimiter(id: string, port: number): Promise<Limiter> {
    const process = await ServiceProcess.start({
      name: id,
      entry: serviceEntry('rate-limiter'),
      args: ['--rules', join(dir, 'rules'), '--listen', `127.0.0.1:${port}`, '--id', id, '--seeds', seeds, '--metrics-listen', '127.0.0.1:0', '--forward-timeout-ms', '2000'],
      env: { LOG_LEVEL: 'info' },
      logFile: join(dir, 'logs', `${id}.log`),
    });
    const l = { id, process, client: new Client(process.address, credentials.createInsecure()) };
    limiters.push(l);
    return l;
  }

  /** The replica ids a limiter spreads keys over now. */
  const replicasOf = async (l: Limiter): Promise<string[]> => (await listRules(l.client)).replica?.replicas ?? [];

  /** The owner of `value`: the replica whose owned-decision count a single decision raises. */
  async function ownerOf(value: string, via: Limiter, among: readonly Limiter[]): Promise<Limiter> {
    const before = await Promise.all(among.map(async (l) => (await listRules(l.client)).replica?.ownedDecisions ?? 0n));
    await admitted(via.client, value);
    const after = await Promise.all(among.map(async (l) => (await listRules(l.client)).replica?.ownedDecisions ?? 0n));
    const owners = among.filter((_, i) => (after[i] ?? 0n) > (before[i] ?? 0n));
    if (owners.length !== 1) throw new Error(`expected one owner of ${value}, got ${owners.map((o) => o.id).join(',')}`);
    return owners[0]!;
  }

  beforeAll(async () => {
    mkdirSync(join(dir, 'rules'));
    writeFileSync(join(dir, 'rules', 'exact.yaml'), `domain: exact\ndescriptors:\n  - key: key\n    rate_limit: {unit: year, requests_per_unit: ${LIMIT}}\n`);
    ports = await reservePorts(5);
    const [m = 0, a = 0, b = 0, c = 0] = ports.ports;
    membership = await ServiceProcess.start({
      name: 'membership',
      entry: serviceEntry('membership'),
      args: ['--listen', `127.0.0.1:${m}`, '--data-dir', join(dir, 'membership'), '--metrics-listen', '127.0.0.1:0'],
      logFile: join(dir, 'logs', 'membership.log'),
    });
    seeds = membership.address;
    await Promise.all([startLimiter('rl-a', a), startLimiter('rl-b', b), startLimiter('rl-c', c)]);
    await waitUntil(async () => (await Promise.all(limiters.map(replicasOf))).every((r) => r.length === 3), 20_000, 'every replica to see the three');
  });

  afterAll(async () => {
    for (const l of limiters) l.client.close();
    await Promise.all([...limiters.map((l) => l.process.stop(3_000)), membership?.stop(3_000)]);
    ports?.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it('admits exactly the limit for a key while the replicas do not change, whichever replica is asked', async () => {
    let yes = 0;
    for (let i = 0; i < 3 * LIMIT; i++) if (await admitted(limiters[i % 3]!.client, 'steady')) yes++;
    expect(yes).toBe(LIMIT);
  });

  it('kill -9 of a key\'s owner: its successor takes the key at once and the window admits at most limit x 2; the replicas drop the dead one', async () => {
    const [a, b, c] = limiters;
    if (!a || !b || !c) throw new Error('limiters missing');
    const owner = await ownerOf('failover', a, limiters);
    const entry = limiters.find((l) => l !== owner)!;
    let yes = 1; // the request ownerOf made
    for (let i = 0; i < LIMIT / 2 - 1; i++) if (await admitted(entry.client, 'failover')) yes++;
    expect(yes).toBe(LIMIT / 2);

    owner.process.kill('SIGKILL');
    await owner.process.exited();
    const survivors = limiters.filter((l) => l !== owner);
    // Keep asking through the survivors until gossip has dropped the dead owner, and beyond.
    let asked = 0;
    const dropped = async (): Promise<boolean> => (await Promise.all(survivors.map(replicasOf))).every((r) => r.length === 2 && !r.includes(owner.id));
    while (!(await dropped())) {
      if (await admitted(survivors[asked++ % 2]!.client, 'failover')) yes++;
      if (asked > 5_000) throw new Error('the replicas never dropped the dead owner');
    }
    for (let i = 0; i < 2 * LIMIT; i++) if (await admitted(survivors[i % 2]!.client, 'failover')) yes++;
    // The dead owner's count (LIMIT / 2) is lost; the successor counted from zero: at most one extra limit.
    expect(yes).toBeLessThanOrEqual(2 * LIMIT);
    expect(yes).toBeGreaterThanOrEqual(LIMIT);
    const failedOver = await Promise.all(survivors.map(async (l) => (await listRules(l.client)).replica?.ownerUnreachable ?? 0n));
    // No decision fell to the failure mode (fail open): the successor decided every one.
    expect(failedOver).toEqual([0n, 0n]);
  });

  it('ownership follows the replicas: a new one joins, every replica spreads keys over it, and a fresh key\'s limit is exact again', async () => {
    const port = ports?.ports[4] ?? 0;
    const d = await startLimiter('rl-d', port);
    const live = limiters.filter((l) => l.process.running);
    await waitUntil(async () => (await Promise.all(live.map(replicasOf))).every((r) => r.includes('rl-d') && r.length === 3), 20_000, 'every live replica to see rl-d');
    const owners = new Set<string>();
    for (let i = 0; i < 12; i++) owners.add((await ownerOf(`spread-${i}`, d, live)).id);
    expect(owners.has('rl-d')).toBe(true);
    let yes = 0;
    for (let i = 0; i < 3 * LIMIT; i++) if (await admitted(live[i % live.length]!.client, 'after-join')) yes++;
    expect(yes).toBe(LIMIT);
  });
});
