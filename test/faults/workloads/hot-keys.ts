/**
 * Concurrent read-modify-write on a few hot keys: each client reads a key and writes a new
 * unique value with the read's context, so its write supersedes exactly the siblings it saw.
 * Several clients on the same keys race all the time, which is what makes siblings — and what
 * the sibling checker watches for values that should have been superseded and came back.
 */
import type { QuorumKvClient } from '@quorumkv/client';
import { describeError, type History, writeOutcome } from '../history.js';
import type { Random } from '../random.js';
import { pacedLoop, type StopSignal } from './pacing.js';
import { readKey } from './set-adds.js';

export interface HotKeysOptions {
  readonly clients: number;
  readonly keys: number;
  /** Updates (a read and a write) per second per client. */
  readonly perClientPerSecond: number;
}

export class HotKeys {
  readonly keys: string[];

  constructor(
    private readonly kv: QuorumKvClient,
    private readonly history: History,
    private readonly options: HotKeysOptions,
  ) {
    this.keys = Array.from({ length: options.keys }, (_, i) => `hot:${i}`);
  }

  run(stop: StopSignal, random: (client: number) => Random): Promise<void[]> {
    return Promise.all(Array.from({ length: this.options.clients }, (_, c) => this.client(c, stop, random(c))));
  }

  private async client(c: number, stop: StopSignal, rng: Random): Promise<void> {
    await pacedLoop(this.options.perClientPerSecond, stop, async (seq) => {
      const key = rng.pick(this.keys);
      const read = await readKey(this.kv, this.history, 100 + c, key);
      if (read === undefined) return;
      const value = `upd c${c} #${seq}`;
      const invokeMs = this.history.now();
      const base = { kind: 'update', client: 100 + c, key, value, supersedes: read.values, invokeMs } as const;
      try {
        await this.kv.put(key, value, { context: read.context });
        this.history.record({ ...base, completeMs: this.history.now(), outcome: 'ok' });
      } catch (err) {
        this.history.record({ ...base, completeMs: this.history.now(), outcome: writeOutcome(err), error: describeError(err) });
      }
    });
  }
}
