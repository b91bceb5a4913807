/**
 * When a freshly started local cluster is usable: every storage node it started is NORMAL in the
 * committed ring (they join one after another, each after its ranges arrived), and the
 * coordinator reports SERVING.
 */
import { type ChannelCredentials, Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ClusterViewClient } from '@quorumkv/cluster-view';

/** The cluster did not become ready in time; the message says what was missing. */
export class ClusterNotReadyError extends Error {
  override readonly name = 'ClusterNotReadyError';
}

/**
 * Resolves once every id in `nodes` is NORMAL in the ring the membership service at `seeds`
 * commits and nothing else is moving. `creds`: with TLS, a certificate of a quorumkv service
 * (the membership service serves Watch only to those).
 * @throws ClusterNotReadyError after `timeoutMs`, naming the nodes not NORMAL yet.
 */
export async function waitForRing(seeds: readonly string[], nodes: readonly string[], timeoutMs: number, creds?: ChannelCredentials): Promise<number> {
  const cluster = new ClusterViewClient({
    seeds,
    watcherId: 'local-cluster',
    role: 'anti-entropy',
    backoff: { initialMs: 50, maxMs: 500 },
    ...(creds ? { credentials: creds } : {}),
  });
  let missing: string[] = [...nodes];
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ClusterNotReadyError(`the ring did not take every storage node within ${timeoutMs} ms: not NORMAL yet: ${missing.join(', ')} (see their logs)`)),
        timeoutMs,
      );
      cluster.onChange(({ view }) => {
        missing = nodes.filter((id) => view.ring.member(id)?.state !== 'normal');
        if (missing.length === 0 && !view.ring.changesPending) {
          clearTimeout(timer);
          resolve(view.ring.epoch);
        }
      });
      cluster.start();
    });
  } finally {
    cluster.close();
  }
}

/** `grpc.health.v1.Health/Check` of the whole server: SERVING or not (any failure counts as not). */
export function isServing(address: string, creds: ChannelCredentials = credentials.createInsecure()): Promise<boolean> {
  const client = new Client(address, creds);
  return new Promise<boolean>((resolve) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      new Metadata(),
      { deadline: Date.now() + 1_000 },
      (err: ServiceError | null, res?: Buffer) => {
        client.close();
        // HealthCheckResponse { status = 1 (SERVING) }: field 1, varint 1.
        resolve(!err && res !== undefined && res.length >= 2 && res[0] === 0x08 && res[1] === 1);
      },
    );
  });
}

/** Resolves once `address` reports SERVING. @throws ClusterNotReadyError after `timeoutMs`. */
export async function waitForServing(address: string, what: string, timeoutMs: number, creds?: ChannelCredentials): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await isServing(address, creds))) {
    if (Date.now() > deadline) throw new ClusterNotReadyError(`${what} at ${address} did not report SERVING within ${timeoutMs} ms (see its log)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
