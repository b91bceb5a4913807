import { createServer, connect, type Server as NetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Server, ServerCredentials, status, type ServerDuplexStream } from '@grpc/grpc-js';
import { reservePorts } from '@quorumkv/local-cluster';
import { storage } from '@quorumkv/proto';
import { createLogger } from '@quorumkv/service-kit';
import { ReplicaOpError, ReplicaStreamBrokenError, ReplicaTimeoutError, ReplicaUnavailableError } from './errors.js';
import { ReplicaClient } from './replica-client.js';

type Stream = ServerDuplexStream<storage.ReplicaRequestBatch, storage.ReplicaResponseBatch>;

/**
 * A StorageService on 127.0.0.1 that records requests and answers only when the test says so —
 * except clock probes (empty batches), which it answers at once with its clock, as a node does.
 */
class FakeNode {
  readonly requests: storage.ReplicaRequest[] = [];
  /** How many requests each batch message carried (clock probes not counted). */
  readonly batchSizes: number[] = [];
  /** The node's clock, as stamped on its answers. */
  now = (): number => Date.now();
  readonly streams: Stream[] = [];
  readonly server = new Server();
  port = 0;

  static async start(port = 0): Promise<FakeNode> {
    const node = new FakeNode();
    node.server.addService(storage.StorageServiceService, {
      replicate: (call: Stream) => {
        node.streams.push(call);
        call.on('data', (batch: storage.ReplicaRequestBatch) => {
          if (batch.requests.length === 0) {
            call.write({ responses: [], nodeTimeMs: node.now() });
            return;
          }
          node.batchSizes.push(batch.requests.length);
          node.requests.push(...batch.requests);
        });
        call.on('error', () => undefined);
      },
      stats: (_call: unknown, cb: (err: null, res: storage.StatsResponse) => void) => cb(null, { nodeId: 'fake', keyCount: 7n, approximateBytes: 99n, epoch: 1n }),
      pullRange: (_call: unknown, cb: (err: { code: number }, res: null) => void) => cb({ code: status.UNIMPLEMENTED }, null),
      releaseStandIn: (_call: unknown, cb: (err: { code: number }, res: null) => void) => cb({ code: status.UNIMPLEMENTED }, null),
    } satisfies storage.StorageServiceServer);
    node.port = await new Promise<number>((resolve, reject) =>
      node.server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return node;
  }

  answer(id: number, result: storage.ReplicaResponse['result']): void {
    this.streams.at(-1)?.write({ responses: [{ id, result }], nodeTimeMs: this.now() });
  }

  /** Answers several requests in one batch message. */
  answerAll(answers: readonly storage.ReplicaResponse[]): void {
    this.streams.at(-1)?.write({ responses: [...answers], nodeTimeMs: this.now() });
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

/**
 * A TCP proxy in front of a node that can go silent: it keeps both connections open but stops
 * passing bytes either way, as a peer that lost power or sits behind a partition would.
 */
class SilentableProxy {
  silent = false;
  port = 0;
  private readonly sockets: Socket[] = [];
  private readonly server: NetServer;

  private constructor(targetPort: number) {
    this.server = createServer((inbound) => {
      const outbound = connect(targetPort, '127.0.0.1');
      this.sockets.push(inbound, outbound);
      inbound.on('data', (d) => this.silent || outbound.write(d));
      outbound.on('data', (d) => this.silent || inbound.write(d));
      for (const s of [inbound, outbound]) s.on('error', () => undefined);
    });
  }

  static async start(targetPort: number): Promise<SilentableProxy> {
    const proxy = new SilentableProxy(targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    const address = proxy.server.address();
    proxy.port = typeof address === 'object' && address !== null ? address.port : 0;
    return proxy;
  }

  stop(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

const logger = createLogger({ service: 'test', level: 'silent' });
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A client connected to a fake node on `port` (0: any free port). */
async function setup(port = 0): Promise<{ node: FakeNode; client: ReplicaClient }> {
  const node = await FakeNode.start(port);
  const client = new ReplicaClient({ nodeId: 'node-1', address: `127.0.0.1:${node.port}`, logger, backoff: { initialMs: 10, maxMs: 50 }, sweepIntervalMs: 10 });
  cleanups.push(() => client.close(), () => node.stop());
  client.start();
  await vi.waitFor(() => expect(client.up).toBe(true), { timeout: 5000 });
  return { node, client };
}

describe('ReplicaClient', () => {
  it('matches answers to requests by id when the node answers out of order, all on one stream', async () => {
    const { node, client } = await setup();
    const a = client.read(Buffer.from('a'), 1000);
    const b = client.read(Buffer.from('b'), 1000);
    await vi.waitFor(() => expect(node.requests).toHaveLength(2));
    const [ra, rb] = node.requests;
    node.answer(rb!.id, { $case: 'read', read: { versions: [], applied: [] } });
    node.answer(ra!.id, { $case: 'read', read: { versions: [{ dot: { node: 'node-1', epoch: 1n, counter: 1n }, context: [], value: Buffer.from('A'), tombstone: false, writtenAtMs: 0n }], applied: [] } });
    expect((await a).versions[0]?.value.toString()).toBe('A');
    expect((await b).versions).toEqual([]);
    expect(node.streams).toHaveLength(1);
    expect(ra!.op?.$case).toBe('read');
    expect(ra!.timeoutMs).toBe(1000);
  });

  it('sends the requests made in one turn as one batch message and settles a batched answer', async () => {
    const { node, client } = await setup();
    const keys = ['a', 'b', 'c', 'd'];
    const reads = keys.map((k) => client.read(Buffer.from(k), 1000));
    await vi.waitFor(() => expect(node.requests).toHaveLength(4));
    expect(node.batchSizes).toEqual([4]);
    expect(node.requests.map((r) => r.op?.$case === 'read' && r.op.read.key.toString())).toEqual(keys);
    node.answerAll(node.requests.map((r) => ({ id: r.id, result: { $case: 'read', read: { versions: [], applied: [] } } })));
    expect((await Promise.all(reads)).map((r) => r.versions)).toEqual([[], [], [], []]);
    expect(client.inFlight).toBe(0);
  });

  it('splits the requests of one turn into batches of at most maxBatch', async () => {
    const node = await FakeNode.start();
    const client = new ReplicaClient({ nodeId: 'node-1', address: `127.0.0.1:${node.port}`, logger, maxBatch: 3 });
    cleanups.push(() => client.close(), () => node.stop());
    client.start();
    await vi.waitFor(() => expect(client.up).toBe(true), { timeout: 5000 });
    const reads = Array.from({ length: 7 }, (_, i) => client.read(Buffer.from(`k${i}`), 1000).catch(() => undefined));
    await vi.waitFor(() => expect(node.requests).toHaveLength(7));
    expect(node.batchSizes).toEqual([3, 3, 1]);
    client.close();
    await Promise.all(reads);
  });

  it("turns the node's ReplicaError into a ReplicaOpError carrying its code", async () => {
    const { node, client } = await setup();
    const p = client.coordinate({ key: Buffer.from('k'), context: [], value: Buffer.from('v'), tombstone: false, requestId: Buffer.alloc(0) }, 1000);
    await vi.waitFor(() => expect(node.requests).toHaveLength(1));
    node.answer(node.requests[0]!.id, { $case: 'error', error: { code: storage.ReplicaError_Code.CODE_SIBLING_LIMIT, message: '65 siblings', ringEpoch: 0 } });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplicaOpError);
    expect((err as ReplicaOpError).code).toBe(storage.ReplicaError_Code.CODE_SIBLING_LIMIT);
  });

  it('fails every pending request at once when the stream breaks, not at their timeout', async () => {
    const { node, client } = await setup();
    const pending = [client.read(Buffer.from('a'), 60_000), client.merge(Buffer.from('b'), [], 60_000)];
    await vi.waitFor(() => expect(node.requests).toHaveLength(2));
    const started = Date.now();
    node.stop();
    const results = await Promise.allSettled(pending);
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof ReplicaStreamBrokenError)).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(client.inFlight).toBe(0);
  });

  it('fails requests at once while the node is down, then reconnects when it comes back', async () => {
    // The node comes back on its port: a reserved one, so nothing else can take it meanwhile.
    const reserved = await reservePorts(1);
    cleanups.push(() => reserved.release());
    const { node, client } = await setup(reserved.ports[0]);
    node.stop();
    await vi.waitFor(() => expect(client.up).toBe(false), { timeout: 5000 });
    await expect(client.read(Buffer.from('a'), 1000)).rejects.toBeInstanceOf(ReplicaUnavailableError);
    const again = await FakeNode.start(node.port);
    cleanups.push(() => again.stop());
    await vi.waitFor(() => expect(client.up).toBe(true), { timeout: 5000 });
    const p = client.read(Buffer.from('a'), 1000);
    await vi.waitFor(() => expect(again.requests).toHaveLength(1));
    again.answer(again.requests[0]!.id, { $case: 'read', read: { versions: [], applied: [] } });
    expect((await p).versions).toEqual([]);
  });

  it('fails a request the node never answers once its timeout passes, and ignores the late answer', async () => {
    const { node, client } = await setup();
    const p = client.read(Buffer.from('a'), 30);
    await expect(p).rejects.toBeInstanceOf(ReplicaTimeoutError);
    node.answer(node.requests[0]!.id, { $case: 'read', read: { versions: [], applied: [] } });
    const q = client.read(Buffer.from('b'), 1000);
    await vi.waitFor(() => expect(node.requests).toHaveLength(2));
    node.answer(node.requests[1]!.id, { $case: 'read', read: { versions: [], applied: [] } });
    expect((await q).versions).toEqual([]);
  });

  it('fails pending requests once keepalive pings go unanswered on a connection that went silent', async () => {
    const node = await FakeNode.start();
    const proxy = await SilentableProxy.start(node.port);
    const client = new ReplicaClient({
      nodeId: 'node-1',
      address: `127.0.0.1:${proxy.port}`,
      logger,
      backoff: { initialMs: 50, maxMs: 1000 },
      keepalive: { timeMs: 200, timeoutMs: 300 },
    });
    cleanups.push(() => client.close(), () => proxy.stop(), () => node.stop());
    client.start();
    await vi.waitFor(() => expect(client.up).toBe(true), { timeout: 5000 });
    proxy.silent = true;
    const started = Date.now();
    const read = client.read(Buffer.from('a'), 60_000);
    await expect(read).rejects.toBeInstanceOf(ReplicaStreamBrokenError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(client.up).toBe(false);
  });

  it("stamps each request with the moment it gives up on it in the node's clock, never later, whatever the clocks' offset", async () => {
    for (const skew of [3_600_000, -3_600_000]) {
      const node = await FakeNode.start();
      node.now = () => Date.now() + skew;
      const client = new ReplicaClient({ nodeId: 'node-1', address: `127.0.0.1:${node.port}`, logger, heartbeatMs: 20 });
      cleanups.push(() => client.close(), () => node.stop());
      client.start();
      await vi.waitFor(() => expect(client.up).toBe(true), { timeout: 5000 });
      const sentAt = Date.now();
      void client.read(Buffer.from('a'), 1000).catch(() => undefined);
      await vi.waitFor(() => expect(node.requests).toHaveLength(1));
      const { deadlineMs, timeoutMs } = node.requests[0]!;
      expect(timeoutMs).toBe(1000);
      // The client gives up at sentAt + 1000 (its clock) at the earliest: in the node's clock,
      // that is sentAt + 1000 + skew. The stamp is never later, and late by a round trip at most.
      expect(deadlineMs).toBeLessThanOrEqual(Date.now() + 1000 + skew);
      expect(deadlineMs).toBeGreaterThan(sentAt + 1000 + skew - 500);
    }
  });

  it('is not up until the node answered its clock probe', async () => {
    const silent = new Server();
    silent.addService(storage.StorageServiceService, { replicate: () => undefined, stats: () => undefined });
    const port = await new Promise<number>((resolve, reject) =>
      silent.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const client = new ReplicaClient({ nodeId: 'node-1', address: `127.0.0.1:${port}`, logger });
    cleanups.push(() => client.close(), () => silent.forceShutdown());
    client.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(client.up).toBe(false);
    await expect(client.read(Buffer.from('a'), 1000)).rejects.toBeInstanceOf(ReplicaUnavailableError);
  });

  it('reads Stats with a unary call', async () => {
    const { client } = await setup();
    expect(await client.stats(1000)).toMatchObject({ keyCount: 7n, approximateBytes: 99n });
  });
});
