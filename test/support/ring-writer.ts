/**
 * Writes straight to storage nodes the way a coordinator following the ring does — to a key's
 * current replicas and its pending ones, needing W + P acknowledgements, each request tagged
 * with the ring epoch — for tests of the storage node's side of a living ring until the real
 * coordinator follows the ring in them. One write mints on the first target that answers and
 * merges the minted record (its bytes) into the others.
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import { storage } from '@quorumkv/proto';
import type { RingView } from '@quorumkv/ring';
import { ReplicaStreamClient } from '@quorumkv/storage-node/testing';

/** How the writes of a run went. */
export interface WriteTally {
  /** Keys acknowledged (W + P targets stored them), with the value written. */
  readonly acked: Map<string, string>;
  /** Writes that did not reach W + P, by reason. */
  readonly failed: Map<string, number>;
}

const REQUEST_TIMEOUT_MS = 2_000;

/** Replica streams by address, replaced after any failure (a killed node's stream is dead). */
export class ReplicaClients {
  private readonly clients = new Map<string, ReplicaStreamClient>();

  /** @param creds with TLS: a coordinator's certificate. @default insecure */
  constructor(private readonly creds?: ChannelCredentials) {}

  async send(address: string, epoch: number, op: NonNullable<storage.ReplicaRequest['op']>): Promise<storage.ReplicaResponse> {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = new ReplicaStreamClient(address, this.creds);
      this.clients.set(address, client);
    }
    client.ringEpoch = epoch;
    const c = client;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        c.send(op, REQUEST_TIMEOUT_MS),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), REQUEST_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      this.clients.delete(address);
      c.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

/** Whether a replica refused a request routed by an older ring epoch than it knows. */
function isStale(res: storage.ReplicaResponse): boolean {
  return res.result?.$case === 'error' && res.result.error.code === storage.ReplicaError_Code.CODE_STALE_EPOCH;
}

/** Reads `key` from one node with the ring's epoch: its values, or the node's error. */
export async function readValues(clients: ReplicaClients, address: string, epoch: number, key: string): Promise<string[]> {
  const res = await clients.send(address, epoch, { $case: 'read', read: { key: Buffer.from(key), standIn: false } });
  if (res.result?.$case === 'read') return res.result.read.versions.map((v) => Buffer.from(v.value).toString());
  throw new Error(`read of ${key} at ${address}: ${JSON.stringify(res.result)}`);
}

/**
 * Writes `value` to `key` by the ring `view()` returns now: mints it on the first target that
 * answers, then merges the minted record into the other targets. A target that says it knows a
 * newer epoch makes the writer take the view again and send the same record to the new view's
 * targets that do not hold it yet (up to 5 rounds), as a coordinator does — never minting twice.
 * Resolves with undefined when W + P targets of the newest view hold it, or the reason it did not.
 */
export async function writeKey(clients: ReplicaClients, view: () => RingView, key: string, value: string, w = 2): Promise<string | undefined> {
  const holders = new Set<string>();
  let record: Buffer | undefined;
  let reason = 'no target answered';
  for (let round = 0; round < 5; round++) {
    const ring = view();
    const { replicas, pending } = ring.writeTargets(key);
    const targets = [...replicas, ...pending];
    const need = Math.min(w, replicas.length) + pending.length;
    const address = (id: string): string => ring.member(id)?.address ?? '';
    let stale = false;
    for (let i = 0; i < targets.length && record === undefined; i++) {
      const id = targets[i]!;
      try {
        const res = await clients.send(address(id), ring.epoch, {
          $case: 'coordinate',
          coordinate: { key: Buffer.from(key), context: [], value: Buffer.from(value), tombstone: false, requestId: Buffer.alloc(0) },
        });
        if (res.result?.$case === 'coordinate') {
          record = res.result.coordinate.versionsRecord;
          holders.add(id);
        } else if (isStale(res)) {
          stale = true;
          break;
        } else if (res.result?.$case === 'error') reason = `coordinate: ${res.result.error.message}`;
      } catch (err) {
        reason = `coordinate: ${(err as Error).message}`;
      }
    }
    if (record === undefined && !stale) return reason;
    if (record !== undefined) {
      const rec = record;
      await Promise.all(
        targets
          .filter((id) => !holders.has(id))
          .map(async (id) => {
            try {
              const res = await clients.send(address(id), ring.epoch, { $case: 'merge', merge: { key: Buffer.from(key), versions: [], versionsRecord: rec, applied: [], hintedFor: '' } });
              if (res.result?.$case === 'merge') holders.add(id);
              else if (isStale(res)) stale = true;
              else if (res.result?.$case === 'error') reason = `merge: ${res.result.error.message}`;
            } catch (err) {
              reason = `merge: ${(err as Error).message}`;
            }
          }),
      );
    }
    const acks = targets.filter((id) => holders.has(id)).length;
    if (!stale) return acks >= need ? undefined : `${acks} of ${need} acks (${reason})`;
    reason = 'a target kept answering with a newer ring epoch';
    await new Promise((r) => setTimeout(r, 20 * (round + 1)));
  }
  return reason;
}

/**
 * `clients` concurrent writers, each writing fresh keys `<prefix>-<client>-<n>` in a loop until
 * stopped. Returns the tally and a stop function.
 */
export function writeContinuously(view: () => RingView, prefix: string, clients: number): { tally: WriteTally; stop: () => Promise<void> } {
  const tally: WriteTally = { acked: new Map(), failed: new Map() };
  const conns = new ReplicaClients();
  let stopping = false;
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let n = 0; !stopping; n++) {
      const key = `${prefix}-${c}-${n}`;
      const value = `v-${key}`;
      const failure = await writeKey(conns, view, key, value);
      if (failure === undefined) tally.acked.set(key, value);
      else {
        const reason = failure.replace(/\d+ of \d+ acks/, 'too few acks').slice(0, 120);
        tally.failed.set(reason, (tally.failed.get(reason) ?? 0) + 1);
      }
    }
  });
  return {
    tally,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
      conns.close();
    },
  };
}
