/**
 * Test support: a real local cluster (separate processes, real sockets, real LevelDB) in a temp
 * folder, and promise-returning calls on the generated clients. Every test file that starts one
 * stops it in afterAll, and each process is killed if it outlives its grace period.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type CallOptions, type ChannelCredentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { TlsOptions } from '@quorumkv/client';
import { admin, kv, storage } from '@quorumkv/proto';
import { LocalCluster, type DevCertificates, type DevServiceRole, type LocalClusterOptions } from '@quorumkv/local-cluster';

/**
 * `QKV_E2E_TLS=1` runs every test cluster with mutual TLS (the client API included), as
 * `npm start -- --tls` does: `npm run test:e2e:tls`. Tests dial through {@link clusterCredentials}.
 */
export const E2E_TLS = process.env['QKV_E2E_TLS'] === '1';

/** Who a test connects as: the dev client, a service of the cluster, or no certificate at all. */
export type TestPeer = 'client' | DevServiceRole | 'anonymous';

/**
 * Credentials for a channel to one of `cluster`'s services: plain text when it runs without
 * TLS; else TLS trusting its CA, with the certificate of `as` (none for `anonymous`).
 */
export function clusterCredentials(cluster: { readonly tls: DevCertificates | undefined }, as: TestPeer = 'client'): ChannelCredentials {
  const tls = cluster.tls;
  if (tls === undefined) return credentials.createInsecure();
  const ca = readFileSync(tls.ca);
  if (as === 'anonymous') return credentials.createSsl(ca);
  const own = as === 'client' ? tls.client : tls.services[as];
  return credentials.createSsl(ca, readFileSync(own.key), readFileSync(own.cert));
}

/** The SDK's `tls` option for `cluster` (none without TLS); `anonymous` sends no client certificate. */
export function clusterSdkOptions(cluster: { readonly tls: DevCertificates | undefined }, as: 'client' | 'anonymous' = 'client'): { tls?: TlsOptions } {
  const tls = cluster.tls;
  if (tls === undefined) return {};
  return { tls: as === 'client' ? { dir: tls.dir } : { ca: tls.ca } };
}

export interface TestCluster {
  readonly cluster: LocalCluster;
  readonly kv: KvCalls;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** Starts a cluster with free ports and quiet logs (kept in `<dataDir>/logs` for debugging). */
export async function startTestCluster(options: Partial<LocalClusterOptions> = {}): Promise<TestCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'qkv-e2e-'));
  const cluster = await LocalCluster.start({ nodes: 3, dataDir, env: { LOG_LEVEL: 'warn' }, tls: E2E_TLS, ...options });
  const calls = new KvCalls(cluster.address, clusterCredentials(cluster));
  return {
    cluster,
    kv: calls,
    dataDir,
    stop: async () => {
      calls.close();
      await cluster.stop(5_000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

type Callback<R> = (err: ServiceError | null, res: R) => void;

function promisify<Q, R>(fn: (req: Q, md: Metadata, opts: Partial<CallOptions>, cb: Callback<R>) => unknown, req: Q, deadlineMs: number): Promise<R> {
  return new Promise((resolve, reject) => {
    fn(req, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** The public API through the generated client, one promise per call. */
export class KvCalls {
  private readonly client: kv.KeyValueServiceClient;
  private readonly cluster: admin.ClusterServiceClient;

  constructor(address: string, creds: ChannelCredentials = credentials.createInsecure()) {
    this.client = new kv.KeyValueServiceClient(address, creds);
    this.cluster = new admin.ClusterServiceClient(address, creds);
  }

  get(req: Partial<kv.GetRequest>, deadlineMs = 5_000): Promise<kv.GetResponse> {
    return promisify(this.client.get.bind(this.client), kv.GetRequest.fromPartial(req), deadlineMs);
  }

  put(req: Partial<kv.PutRequest>, deadlineMs = 5_000): Promise<kv.PutResponse> {
    return promisify(this.client.put.bind(this.client), kv.PutRequest.fromPartial(req), deadlineMs);
  }

  delete(req: Partial<kv.DeleteRequest>, deadlineMs = 5_000): Promise<kv.DeleteResponse> {
    return promisify(this.client.delete.bind(this.client), kv.DeleteRequest.fromPartial(req), deadlineMs);
  }

  status(deadlineMs = 5_000): Promise<admin.StatusResponse> {
    return promisify(this.cluster.status.bind(this.cluster), admin.StatusRequest.fromPartial({}), deadlineMs);
  }

  close(): void {
    this.client.close();
    this.cluster.close();
  }
}

/**
 * Reads a key straight from one storage node over its replica stream (bypassing quorums); with
 * TLS, as the coordinator (`creds`), the identity storage nodes serve replica traffic to. With
 * `standIn`, the copies the node keeps as a stand-in for other nodes instead of its own data.
 */
export async function readReplica(address: string, key: Buffer, timeoutMs = 5_000, creds: ChannelCredentials = credentials.createInsecure(), standIn = false): Promise<storage.Version[]> {
  return (await readReplicaSet(address, key, timeoutMs, creds, standIn)).versions;
}

/** {@link readReplica}, with the request ids the node applied to the key (`ReadResult.applied`). */
export async function readReplicaSet(address: string, key: Buffer, timeoutMs = 5_000, creds: ChannelCredentials = credentials.createInsecure(), standIn = false): Promise<storage.ReadResult> {
  const client = new storage.StorageServiceClient(address, creds);
  try {
    const stream: ClientDuplexStream<storage.ReplicaRequestBatch, storage.ReplicaResponseBatch> = client.replicate({ deadline: Date.now() + timeoutMs });
    const answer = new Promise<storage.ReplicaResponse | undefined>((resolve, reject) => {
      stream.on('data', (batch: storage.ReplicaResponseBatch) => resolve(batch.responses.find((r) => r.id === 1)));
      stream.on('error', reject);
    });
    // A test looking at one replica routes by no ring: the highest epoch is never fenced.
    stream.write({ requests: [storage.ReplicaRequest.fromPartial({ id: 1, timeoutMs, ringEpoch: 0xffff_ffff, op: { $case: 'read', read: { key, standIn } } })] });
    const res = await answer;
    stream.cancel();
    if (res?.result?.$case !== 'read') throw new Error(`unexpected replica answer: ${JSON.stringify(res?.result)}`);
    return res.result.read;
  } finally {
    client.close();
  }
}

/** Waits until `check` passes or `timeoutMs` elapses (for state that converges after a reply). */
export async function eventually(check: () => Promise<void> | void, timeoutMs = 10_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
