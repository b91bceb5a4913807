/**
 * Test fixture: three real storage-node processes on reserved loopback ports (a killed node
 * restarts on its own port; they run without a membership service, so the coordinator routes by
 * a fixed ring of the three, epoch 1), an in-process coordinator
 * on 127.0.0.1:0, real grpc-js clients of its API, and a separate pool of streams for reading
 * each replica directly. Used by this service's integration tests only.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, credentials, type ServiceError as GrpcError } from '@grpc/grpc-js';
import { ServiceProcess, serviceEntry, withReservedPorts, type PortReservation } from '@quorumkv/local-cluster';
import { admin, kv, type storage } from '@quorumkv/proto';
import { createLogger, startGrpcHost, type GrpcHost } from '@quorumkv/service-kit';
import { RingView } from '@quorumkv/ring';
import { kvReceiveLimit } from '../config.js';
import { ReplicaPool, type NodeAddress } from '../replica-pool.js';
import { fixedRing } from '../ring-source.js';
import { createCoordinatorServer, type CoordinatorServer, type CoordinatorServerConfig } from '../server.js';
import { testContexts } from './context-keys.js';

/** A unary call's outcome: the response, or the gRPC error. */
export type CallResult<T> = { ok: true; value: T } | { ok: false; error: GrpcError };

/** Promise form of a generated grpc-js unary method. */
function call<Req, Res>(
  fn: (req: Req, md: Metadata, opts: { deadline: number }, cb: (err: GrpcError | null, res: Res) => void) => unknown,
  req: Req,
  deadlineMs: number,
): Promise<CallResult<Res>> {
  return new Promise((resolve) => {
    fn(req, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => resolve(err ? { ok: false, error: err } : { ok: true, value: res }));
  });
}

/** One storage-node process; resolves once it logged its "listening" line. */
function startNode(id: string, listen: string, dataDir: string): Promise<ServiceProcess> {
  return ServiceProcess.start({
    name: id,
    entry: serviceEntry('storage-node'),
    args: ['--id', id, '--listen', listen, '--data-dir', dataDir],
    startTimeoutMs: 15_000,
  });
}

/** The running cluster and its handles. */
export class ClusterFixture {
  private constructor(
    readonly dir: string,
    readonly nodes: { id: string; dataDir: string; process: ServiceProcess }[],
    readonly coordinator: CoordinatorServer,
    readonly ring: RingView,
    readonly host: GrpcHost,
    readonly pool: ReplicaPool,
    /** Streams used only by the test to look at each replica. */
    readonly direct: ReplicaPool,
    private readonly kvClient: kv.KeyValueServiceClient,
    private readonly adminClient: admin.ClusterServiceClient,
    private readonly ports: PortReservation,
  ) {}

  /** Starts the three nodes and the coordinator, and waits until every stream is up. */
  static async start(overrides: Partial<CoordinatorServerConfig & { vnodes: number }> = {}): Promise<ClusterFixture> {
    const entry = serviceEntry('storage-node');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npx tsc -b services/storage-node\` first`);
    const dir = mkdtempSync(join(tmpdir(), 'qkv-coord-'));
    let nodes: { id: string; dataDir: string; process: ServiceProcess }[];
    let ports: PortReservation;
    try {
      ({ value: nodes, reservation: ports } = await withReservedPorts(3, async (reserved) => {
        const started = await Promise.allSettled(
          ['node-1', 'node-2', 'node-3'].map(async (id, i) => {
            const dataDir = join(dir, id);
            const process = await startNode(id, `127.0.0.1:${reserved[i] ?? 0}`, dataDir);
            return { id, dataDir, process };
          }),
        );
        const up = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        const failed = started.find((r) => r.status === 'rejected');
        if (failed !== undefined) {
          // Never leave a process behind when the fixture cannot start.
          await Promise.all(up.map((n) => n.process.stop(2000)));
          throw failed.reason;
        }
        return up;
      }));
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const members: NodeAddress[] = nodes.map((n) => ({ id: n.id, address: n.process.address }));
    const logger = createLogger({ service: 'coordinator-test', level: 'silent' });
    const pool = new ReplicaPool({ nodes: members, logger, backoff: { initialMs: 20, maxMs: 200 } });
    const direct = new ReplicaPool({ nodes: members, logger, backoff: { initialMs: 20, maxMs: 200 } });
    const { vnodes = 64, ...rest } = overrides;
    const config: CoordinatorServerConfig = {
      replicaTimeoutMs: 1000,
      maxKeyBytes: 1024,
      maxValueBytes: 10240,
      statusTimeoutMs: 500,
      ringWaitMs: 1000,
      ...rest,
    };
    const ring = new RingView({ epoch: 1, replicationFactor: 3, vnodes, members: members.map((m) => ({ ...m, state: 'normal' as const })) });
    const coordinator = createCoordinatorServer({ config, pool, ring: fixedRing(ring), logger, contexts: testContexts() });
    pool.start();
    direct.start();
    const host = await startGrpcHost({ address: '127.0.0.1:0', services: coordinator.services, logger, maxReceiveMessageBytes: kvReceiveLimit(config) });
    coordinator.watchReadiness((s) => host.setServing(s));
    await Promise.all([pool.waitForUp(3, 10_000), direct.waitForUp(3, 10_000)]);
    const kvClient = new kv.KeyValueServiceClient(host.address, credentials.createInsecure());
    const adminClient = new admin.ClusterServiceClient(host.address, credentials.createInsecure());
    return new ClusterFixture(dir, nodes, coordinator, ring, host, pool, direct, kvClient, adminClient, ports);
  }

  get(req: Partial<kv.GetRequest> & { key: Buffer }, deadlineMs = 5000): Promise<CallResult<kv.GetResponse>> {
    return call(this.kvClient.get.bind(this.kvClient), kv.GetRequest.fromPartial(req), deadlineMs);
  }

  put(req: Partial<kv.PutRequest> & { key: Buffer }, deadlineMs = 5000): Promise<CallResult<kv.PutResponse>> {
    return call(this.kvClient.put.bind(this.kvClient), kv.PutRequest.fromPartial(req), deadlineMs);
  }

  delete(req: Partial<kv.DeleteRequest> & { key: Buffer }, deadlineMs = 5000): Promise<CallResult<kv.DeleteResponse>> {
    return call(this.kvClient.delete.bind(this.kvClient), kv.DeleteRequest.fromPartial(req), deadlineMs);
  }

  status(deadlineMs = 5000): Promise<CallResult<admin.StatusResponse>> {
    return call(this.adminClient.status.bind(this.adminClient), {}, deadlineMs);
  }

  /** The versions one replica holds for `key`, read over its own stream. */
  replicaVersions(node: string, key: Buffer): Promise<storage.Version[]> {
    return this.direct.read(node, key, 2000, this.ring.epoch).then((r) => r.versions);
  }

  /** The replica ids holding `key`, in preference order. */
  preferenceList(key: Buffer): string[] {
    return this.ring.readReplicas(key);
  }

  node(id: string): { id: string; dataDir: string; process: ServiceProcess } {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Starts a killed node again on the same port and data folder. */
  async restart(id: string): Promise<void> {
    const n = this.node(id);
    if (n.process.running) await n.process.stop(2000);
    const address = n.process.address;
    n.process = await startNode(id, address, n.dataDir);
  }

  /** Kills every process, closes every client and removes the data. */
  async stop(): Promise<void> {
    this.kvClient.close();
    this.adminClient.close();
    await this.host.shutdown(500);
    this.pool.close();
    this.direct.close();
    await Promise.all(
      this.nodes.map((n) => {
        n.process.kill('SIGCONT');
        return n.process.stop(2000);
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
    this.ports.release();
  }
}
