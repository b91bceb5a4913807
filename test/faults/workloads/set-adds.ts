/**
 * Jepsen's set-full over a key-value store: each client adds unique elements — a put of a key
 * never written before, with a value naming the client and its sequence number — and now and
 * then reads back one of the recently attempted keys, so the checker can tell a write that was
 * briefly invisible (stale) from one that is gone (lost).
 */
import type { QuorumKvClient } from '@quorumkv/client';
import { describeError, type History, writeOutcome } from '../history.js';
import type { Random } from '../random.js';
import { pacedLoop, type StopSignal } from './pacing.js';

export interface SetAddsOptions {
  readonly clients: number;
  /** Operations per second per client. */
  readonly perClientPerSecond: number;
  /** Share of operations that are reads of a recent key. */
  readonly readShare: number;
}

/** The keys the workload attempted (every one gets a final read). */
export class SetAdds {
  readonly keys: string[] = [];

  constructor(
    private readonly kv: QuorumKvClient,
    private readonly history: History,
    private readonly options: SetAddsOptions,
  ) {}

  run(stop: StopSignal, random: (client: number) => Random): Promise<void[]> {
    return Promise.all(Array.from({ length: this.options.clients }, (_, c) => this.client(c, stop, random(c))));
  }

  private async client(c: number, stop: StopSignal, rng: Random): Promise<void> {
    let seq = 0;
    await pacedLoop(this.options.perClientPerSecond, stop, async () => {
      if (this.keys.length > 0 && rng.chance(this.options.readShare)) {
        await readKey(this.kv, this.history, c, rng.pick(this.keys.slice(-64)));
        return;
      }
      const key = `set:c${c}:${seq}`;
      const value = `add c${c} #${seq}`;
      seq++;
      this.keys.push(key);
      const invokeMs = this.history.now();
      try {
        await this.kv.put(key, value);
        this.history.record({ kind: 'add', client: c, key, value, invokeMs, completeMs: this.history.now(), outcome: 'ok' });
      } catch (err) {
        this.history.record({ kind: 'add', client: c, key, value, invokeMs, completeMs: this.history.now(), outcome: writeOutcome(err), error: describeError(err) });
      }
    });
  }
}

/**
 * One read of `key` through the coordinator, recorded with every sibling's value (UTF-8). A
 * failed read is recorded too, without values: it tells the checker nothing about the key.
 */
export async function readKey(
  kv: QuorumKvClient,
  history: History,
  client: number,
  key: string,
  opts: { readonly final?: boolean; readonly consistency?: 'quorum' | 'all' } = {},
): Promise<{ values: string[]; context: Buffer } | undefined> {
  const invokeMs = history.now();
  try {
    const res = await kv.get(key, opts.consistency === undefined ? {} : { consistency: opts.consistency });
    const values = res.siblings.map((s) => s.toString('utf8'));
    history.record({ kind: 'read', client, key, invokeMs, completeMs: history.now(), values, ...(opts.final ? { final: true } : {}) });
    return { values, context: res.context };
  } catch (err) {
    history.record({ kind: 'read', client, key, invokeMs, completeMs: history.now(), error: describeError(err), ...(opts.final ? { final: true } : {}) });
    return undefined;
  }
}
