/**
 * Reads keys straight from one storage node over its `Replicate` stream, bypassing the
 * coordinator and its quorums: what that replica holds, and nothing else. Many keys travel on
 * one stream in batches (a stream per key, as `readReplica` in test/support does for one key,
 * would open thousands of connections for a convergence pass).
 */
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { storage } from '@quorumkv/proto';

/** What a replica holds for a key: its versions, or why it could not say. */
export type ReplicaRead = { readonly versions: readonly storage.Version[] } | { readonly error: string };

const BATCH = 128;

/** Reads every key of `keys` from the storage node at `address` within `timeoutMs`. */
export async function readFromReplica(address: string, keys: readonly string[], timeoutMs: number): Promise<Map<string, ReplicaRead>> {
  const out = new Map<string, ReplicaRead>();
  if (keys.length === 0) return out;
  const client = new storage.StorageServiceClient(address, credentials.createInsecure());
  const stream: ClientDuplexStream<storage.ReplicaRequestBatch, storage.ReplicaResponseBatch> = client.replicate({ deadline: Date.now() + timeoutMs });
  // timeout_ms is a uint32 on the wire: a fractional time left (what a caller computes from a
  // deadline) would fail the request's serialization.
  const requestTimeoutMs = Math.max(1, Math.ceil(timeoutMs));
  try {
    await new Promise<void>((resolve) => {
      const finish = (why?: string): void => {
        for (const k of keys) if (!out.has(k)) out.set(k, { error: why ?? 'no answer' });
        resolve();
      };
      stream.on('data', (batch: storage.ReplicaResponseBatch) => {
        for (const r of batch.responses) {
          const key = keys[r.id - 1];
          if (key === undefined) continue;
          if (r.result?.$case === 'read') out.set(key, { versions: r.result.read.versions });
          else out.set(key, { error: r.result?.$case === 'error' ? r.result.error.message : 'empty answer' });
        }
        if (out.size === keys.length) finish();
      });
      stream.on('error', (err: Error) => finish(err.message));
      stream.on('end', () => finish('stream ended'));
      for (let i = 0; i < keys.length; i += BATCH) {
        const requests = keys.slice(i, i + BATCH).map((key, j) =>
          // Routed by no ring: the highest epoch, which a node's epoch fence never refuses.
          storage.ReplicaRequest.fromPartial({ id: i + j + 1, timeoutMs: requestTimeoutMs, ringEpoch: 0xffff_ffff, op: { $case: 'read', read: { key: Buffer.from(key), standIn: false } } }),
        );
        stream.write({ requests });
      }
    });
  } finally {
    stream.cancel();
    client.close();
  }
  return out;
}

/**
 * A replica's version set as a comparable string: its dots (each minted once, by one node),
 * tombstones marked. Two replicas with the same dots hold the same versions.
 */
export function versionSetId(read: ReplicaRead): string {
  if ('error' in read) return `error: ${read.error}`;
  return read.versions
    .map((v) => `${v.dot?.node ?? '?'}:${v.dot?.counter ?? 0}${v.tombstone ? ' (tombstone)' : ''}`)
    .sort()
    .join(', ');
}
