import { status } from '@grpc/grpc-js';
import { membership } from '@quorumkv/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeFailure } from '../testing/fake-coordinator.js';
import { type FakeMembership, type FakeMembershipHandlers, startFakeMembership } from '../testing/fake-membership.js';
import { clusterCommand } from './commands/cluster.js';
import { runCli } from './run-cli.js';

const { Role, Liveness, RingState } = membership;

/** Runs qkv in-process with captured output; sleeps return at once. */
async function qkv(argv: string[], env: Record<string, string> = {}, interactive = false): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    commands: [clusterCommand],
    env,
    interactive,
    stdout: (t) => (out += typeof t === 'string' ? t : Buffer.from(t).toString()),
    stderr: (t) => (err += t),
    clientOptions: { sleep: () => Promise.resolve(), random: () => 0 },
  });
  return { code, out, err };
}

const STATUS: membership.StatusResponse = {
  epoch: 7n,
  replicationFactor: 3,
  claimant: 'membership-1',
  hintsEnabled: false,
  hintsReason: 'started without --nats',
  members: [
    { id: 'node-1', address: '127.0.0.1:7101', role: Role.ROLE_STORAGE, liveness: Liveness.LIVENESS_ALIVE, ringState: RingState.RING_STATE_NORMAL, zone: 'a', ownedShare: 0.5, keys: 120n, bytes: 2048n },
    { id: 'node-4', address: '127.0.0.1:7104', role: Role.ROLE_STORAGE, liveness: Liveness.LIVENESS_SUSPECT, ringState: RingState.RING_STATE_JOINING, zone: '', ownedShare: 0, keys: 3n, bytes: 10n },
    { id: 'coord-1', address: '127.0.0.1:7070', role: Role.ROLE_COORDINATOR, liveness: Liveness.LIVENESS_DOWN, ringState: RingState.RING_STATE_UNSPECIFIED, zone: '', ownedShare: 0, keys: 0n, bytes: 0n },
  ],
};

const range = (to: string, from: string, done: number, left: number, complete = false): membership.RangeProgress => ({
  start: 10,
  end: 20,
  from,
  to,
  keysDone: BigInt(done / 10),
  bytesDone: BigInt(done),
  keysLeft: BigInt(left / 10),
  bytesLeft: BigInt(left),
  complete,
});

describe('qkv cluster', () => {
  let fake: FakeMembership | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });
  async function start(handlers: FakeMembershipHandlers): Promise<string> {
    fake = await startFakeMembership(handlers);
    return fake.address;
  }

  it('status --json is an object with a members array: id, liveness, ringState, zone, ownedShare, keys, bytes', async () => {
    const addr = await start({ status: () => Promise.resolve(STATUS) });
    const r = await qkv(['cluster', 'status', '--json', '--membership', addr]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { members: Record<string, unknown>[]; epoch: number };
    expect(doc.epoch).toBe(7);
    expect(doc.members).toEqual([
      { id: 'node-1', address: '127.0.0.1:7101', role: 'storage', liveness: 'alive', ringState: 'normal', zone: 'a', ownedShare: 0.5, keys: 120, bytes: 2048 },
      { id: 'node-4', address: '127.0.0.1:7104', role: 'storage', liveness: 'suspect', ringState: 'joining', zone: '', ownedShare: 0, keys: 3, bytes: 10 },
      { id: 'coord-1', address: '127.0.0.1:7070', role: 'coordinator', liveness: 'down', ringState: null, zone: '', ownedShare: 0, keys: 0, bytes: 0 },
    ]);
  });

  it('status prints a table like nodetool status, with what is moving; the address may come from QKV_MEMBERSHIP', async () => {
    const addr = await start({ status: () => Promise.resolve(STATUS) });
    const r = await qkv(['cluster', 'status'], { QKV_MEMBERSHIP: addr });
    expect(r.out.split('\n')[0]).toMatch(/^ID\s+ADDRESS\s+ROLE\s+LIVENESS\s+RING\s+ZONE\s+OWNS\s+KEYS\s+BYTES$/);
    expect(r.out).toMatch(/node-1\s+127\.0\.0\.1:7101\s+storage\s+alive\s+normal\s+a\s+50\.0%\s+120\s+2\.0 KiB/);
    expect(r.out).toContain('ring epoch 7, N=3: 2/2 storage nodes up; moving: node-4 joining (qkv cluster transfers); claimant membership-1');
    expect(r.out).toContain('hinted handoff: off — started without --nats');
  });

  it('join sends the id, address and zone and prints what happened; leave and remove send the id', async () => {
    const addr = await start({
      join: (req) => Promise.resolve({ epoch: 8n, message: `${req.id} is JOINING` }),
      leave: (req) => Promise.resolve({ epoch: 9n, message: `${req.id} is LEAVING` }),
      remove: (req) => Promise.resolve({ epoch: 10n, message: `${req.id} is removed` }),
    });
    expect(await qkv(['cluster', 'join', 'node-4', '127.0.0.1:7104', '--zone', 'z2', '--membership', addr])).toEqual({ code: 0, out: 'node-4 is JOINING\n', err: '' });
    expect(fake?.calls[0]).toEqual({ method: 'join', request: { id: 'node-4', address: '127.0.0.1:7104', zone: 'z2' } });
    expect((await qkv(['cluster', 'leave', 'node-2', '--membership', addr])).out).toBe('node-2 is LEAVING\n');
    expect(JSON.parse((await qkv(['cluster', 'remove', 'node-3', '--json', '--membership', addr])).out)).toEqual({ epoch: 10, message: 'node-3 is removed' });
  });

  it('a refused change exits 1 with the service\'s reason on one line', async () => {
    const addr = await start({ leave: () => Promise.reject(new FakeFailure(status.FAILED_PRECONDITION, 'cannot decommission node-1 while node-4 is joining')) });
    const r = await qkv(['cluster', 'leave', 'node-1', '--membership', addr]);
    expect(r).toEqual({ code: 1, out: '', err: 'qkv: cluster failed: FAILED_PRECONDITION: cannot decommission node-1 while node-4 is joining\n' });
  });

  it('handoff prints hints pending per node with the oldest age and delivery counts; --json gives the numbers; off says why', async () => {
    let on = true;
    const node = (id: string, liveness: membership.Liveness, pending: bigint, reported = true): membership.NodeHandoff => ({
      nodeId: id,
      liveness,
      pending,
      oldestAgeMs: pending > 0n ? 42_000n : 0n,
      delivered: 7n,
      deliveredBytes: 700n,
      undeliverable: 1n,
      forwarded: 0n,
      deliveryRatePerS: 2.5,
      deliveryBytesPerS: 250,
      throttleBytesPerS: 1_048_576n,
      draining: true,
      standInCopies: 3n,
      expired: 2n,
      reported,
    });
    const addr = await start({
      handoff: () =>
        Promise.resolve(
          on
            ? { hintsEnabled: true, reason: '', hintWindowMs: 10_800_000n, nodes: [node('node-1', membership.Liveness.LIVENESS_ALIVE, 0n), node('node-2', membership.Liveness.LIVENESS_DOWN, 315n, false)] }
            : { hintsEnabled: false, reason: 'JetStream unreachable (connection refused)', hintWindowMs: 10_800_000n, nodes: [] },
        ),
    });
    const r = await qkv(['cluster', 'handoff', '--membership', addr]);
    expect(r.out.split('\n')[0]).toMatch(/^NODE\s+LIVENESS\s+PENDING\s+OLDEST\s+DELIVERED\s+RATE\s+THROTTLE\s+EXPIRED\s+UNDELIVERABLE\s+STAND-IN COPIES$/);
    expect(r.out).toMatch(/node-2\s+down\s+315\s+42 s\s+\?/);
    expect(r.out).toMatch(/node-1\s+alive\s+0\s+-\s+7\s+2\.5\/s\s+1\.0 MiB\/s\s+2\s+1\s+3/);
    expect(r.out).toContain('hint window 3.0 h');
    const doc = JSON.parse((await qkv(['cluster', 'handoff', '--json', '--membership', addr])).out) as { nodes: Record<string, unknown>[] };
    expect(doc.nodes[1]).toMatchObject({ nodeId: 'node-2', liveness: 'down', pending: 315, oldestAgeMs: 42_000, reported: false });
    on = false;
    expect((await qkv(['cluster', 'handoff', '--membership', addr])).out).toBe('hinted handoff: off — JetStream unreachable (connection refused)\n');
  });

  it('transfers --json is an object with a transfers array (empty when nothing moves), one entry per range', async () => {
    let moving = false;
    const addr = await start({
      transfers: () =>
        Promise.resolve({
          streamThroughputBytesPerS: 25_165_824n,
          transfers: moving ? [{ nodeId: 'node-4', epoch: 8n, rateBytesPerS: 100, etaSeconds: 9, ranges: [range('node-4', 'node-1', 100, 900), range('node-4', 'node-2', 50, 0, true)] }] : [],
        }),
    });
    expect(JSON.parse((await qkv(['cluster', 'transfers', '--json', '--membership', addr])).out)).toEqual({ transfers: [], streamThroughputBytesPerS: 25_165_824 });
    moving = true;
    const doc = JSON.parse((await qkv(['cluster', 'transfers', '--json', '--membership', addr])).out) as { transfers: Record<string, unknown>[] };
    expect(doc.transfers).toEqual([
      { to: 'node-4', from: 'node-1', epoch: 8, start: 10, end: 20, keysDone: 10, bytesDone: 100, keysLeft: 90, bytesLeft: 900, complete: false, rateBytesPerS: 100, etaSeconds: 9 },
      { to: 'node-4', from: 'node-2', epoch: 8, start: 10, end: 20, keysDone: 5, bytesDone: 50, keysLeft: 0, bytesLeft: 0, complete: true, rateBytesPerS: 100, etaSeconds: 0 },
    ]);
  });

  it('transfers draws a progress bar per source and receiver on a terminal, and --watch refreshes until nothing moves', async () => {
    let asked = 0;
    const addr = await start({
      transfers: () => {
        asked += 1;
        const done = asked >= 3;
        return Promise.resolve({ streamThroughputBytesPerS: 1024n, transfers: [{ nodeId: 'node-4', epoch: 8n, rateBytesPerS: 100, etaSeconds: 0, ranges: [range('node-4', 'node-1', done ? 1000 : 250 * asked, done ? 0 : 1000 - 250 * asked, done)] }] });
      },
    });
    const once = await qkv(['cluster', 'transfers', '--membership', addr], {}, true);
    expect(once.out).toContain('node-1 -> node-4  [######------------------] 25%');
    expect(once.out).toContain('0/1 ranges, 25 keys, 250 B; 75 keys, 750 B left; 100 B/s, ETA 8 s');
    const watched = await qkv(['cluster', 'transfers', '--watch', '--membership', addr], {}, true);
    expect(asked).toBe(3);
    expect(watched.out).toContain('[########################] 100%');
    expect(watched.out).toContain('\u001b[3A\u001b[J');
  });

  it('throttle takes bytes per second, plain or with a unit, and prints what is in force', async () => {
    const addr = await start({ setThrottle: (req) => Promise.resolve({ bytesPerS: req.bytesPerS }) });
    expect((await qkv(['cluster', 'throttle', '24MiB', '--membership', addr])).out).toBe('streaming throughput: 25165824 bytes/s (24.0 MiB/s) per receiving node\n');
    expect(fake?.calls[0]?.request).toEqual({ bytesPerS: 25_165_824n });
    expect((await qkv(['cluster', 'throttle', 'fast', '--membership', addr])).code).toBe(2);
  });

  it('says how to point it at the membership service when nothing answers, and checks its arguments', async () => {
    const r = await qkv(['cluster', 'status', '--membership', '127.0.0.1:1', '--timeout', '300']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot reach the membership service at 127\.0\.0\.1:1 \(is `npm start` running\? otherwise pass the membership service address with --membership HOST:PORT or QKV_MEMBERSHIP\)/);
    expect((await qkv(['cluster', 'join', 'node-4'])).err).toMatch(/join takes ID ADDR/);
    expect((await qkv(['cluster', 'frobnicate'])).err).toMatch(/unknown subcommand 'frobnicate'/);
    expect((await qkv(['cluster', 'join', 'node-4', 'nowhere'])).err).toMatch(/ADDR 'nowhere' has no port/);
  });
});
