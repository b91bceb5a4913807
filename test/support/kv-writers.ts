/**
 * Continuous writers through the public API: several clients, each putting fresh keys in a loop
 * at W = QUORUM through a coordinator (each write with its own request id, as the SDK sends), and
 * the tally of what was acknowledged and what failed and why.
 */
import { randomBytes } from 'node:crypto';
import { kv } from '@quorumkv/proto';
import { KvCalls } from './test-cluster.js';

/** How the writes of a run went. */
export interface WriteTally {
  /** Keys acknowledged, with the value written. */
  readonly acked: Map<string, string>;
  /** Writes not acknowledged, by reason (status code and message). */
  readonly failed: Map<string, number>;
}

/**
 * `clients` writers spread over `coordinators`, each putting `<prefix>-<client>-<n>` until stopped.
 * A failed put is counted, not retried (a retry would be a new write in the tally).
 */
export function writeThroughCoordinators(coordinators: readonly string[], prefix: string, clients: number): { tally: WriteTally; stop: () => Promise<void> } {
  const tally: WriteTally = { acked: new Map(), failed: new Map() };
  const calls = coordinators.map((a) => new KvCalls(a));
  let stopping = false;
  const loops = Array.from({ length: clients }, async (_, c) => {
    const api = calls[c % calls.length]!;
    for (let n = 0; !stopping; n++) {
      const key = `${prefix}-${c}-${n}`;
      const value = `v-${key}`;
      try {
        await api.put({ key: Buffer.from(key), value: Buffer.from(value), consistency: kv.ConsistencyLevel.CONSISTENCY_LEVEL_QUORUM, requestId: randomBytes(16) }, 10_000);
        tally.acked.set(key, value);
      } catch (err) {
        const e = err as { code?: number; details?: string };
        const reason = `${e.code ?? '?'} ${(e.details ?? String(err)).slice(0, 100)}`;
        tally.failed.set(reason, (tally.failed.get(reason) ?? 0) + 1);
      }
    }
  });
  return {
    tally,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
      for (const c of calls) c.close();
    },
  };
}
