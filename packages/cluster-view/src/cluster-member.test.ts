import { Writable } from 'node:stream';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { createLogger } from '@quorumkv/service-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { advertisedAddress, ClusterGossip } from './cluster-member.js';

const FAST = { probeIntervalMs: 200, probeTimeoutMs: 100, gossipIntervalMs: 50, pushPullIntervalMs: 2_000 };
const logger = createLogger({ service: 'test', level: 'silent' });
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A grpc-js server carrying only the gossip service, on a free port. */
async function host(gossip: ClusterGossip): Promise<{ server: Server; address: string }> {
  const server = new Server();
  server.addService(gossip.registration.definition, gossip.registration.implementation);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  cleanups.push(() => server.forceShutdown());
  return { server, address: `127.0.0.1:${bound}` };
}

async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ClusterGossip', () => {
  it('a member started before its seed keeps trying and joins once the seed is up; role and zone travel in its metadata', async () => {
    // The seed's port is bound but no member listens on it yet: joins go unanswered.
    const seed = new ClusterGossip();
    const seedAddress = (await host(seed)).address;
    const lines: string[] = [];
    const joinerLogger = createLogger({ service: 'test', level: 'warn', destination: new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()) }) });

    const joiner = new ClusterGossip();
    const joinerAddress = (await host(joiner)).address;
    const member = joiner.start({
      id: 'node-1',
      address: joinerAddress,
      role: 'storage',
      zone: 'eu-1a',
      seeds: [seedAddress],
      logger: joinerLogger,
      gossipConfig: FAST,
      joinTimeoutMs: 100,
      joinRetry: { initialMs: 50, maxMs: 200 },
    });
    cleanups.push(() => joiner.stop(200));
    await until(() => lines.some((l) => l.includes('no seed answered the gossip join')), 10_000);
    expect(joiner.hasJoined).toBe(false);

    seed.start({ id: 'membership-1', address: seedAddress, role: 'membership', seeds: [seedAddress], logger, gossipConfig: FAST });
    cleanups.push(() => seed.stop(200));
    await until(() => joiner.hasJoined, 10_000);
    await until(() => seed.gossip.member('node-1')?.state === 'alive', 10_000);
    expect(seed.gossip.member('node-1')?.meta).toMatchObject({ role: 'storage', zone: 'eu-1a' });
    expect(member.member('membership-1')?.meta.role).toBe('membership');
  });

  it('stop() announces the departure: the others see left, not down', async () => {
    const a = new ClusterGossip();
    const aHost = await host(a);
    a.start({ id: 'a', address: aHost.address, role: 'membership', seeds: [], logger, gossipConfig: FAST });
    cleanups.push(() => a.stop(200));
    const b = new ClusterGossip();
    const bHost = await host(b);
    b.start({ id: 'b', address: bHost.address, role: 'coordinator', seeds: [aHost.address], logger, gossipConfig: FAST });
    // b must know a before it leaves, or it has nobody to tell.
    await until(() => b.hasJoined && a.gossip.member('b')?.state === 'alive', 10_000);
    await b.stop(1_000);
    await until(() => a.gossip.member('b')?.state === 'left', 10_000);
  });

  it('advertises the listen host with the bound port, or the host name for a wildcard', () => {
    expect(advertisedAddress('127.0.0.1:0', 5000)).toBe('127.0.0.1:5000');
    expect(advertisedAddress('0.0.0.0:7101', 7101)).toMatch(/^[^:]+:7101$/);
    expect(advertisedAddress('0.0.0.0:7101', 7101)).not.toContain('0.0.0.0');
    expect(advertisedAddress('0.0.0.0:7101', 7101, 'node-1.qkv:7101')).toBe('node-1.qkv:7101');
  });
});
