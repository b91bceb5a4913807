import type { HintsState } from '@quorumkv/hints';
import type { hints, storage } from '@quorumkv/proto';
import { describe, expect, it } from 'vitest';
import { PrimariesNotReachedError, ReplicaUnavailableError, WriteNotAcknowledgedError } from './errors.js';
import { FenceWatch } from './fence-watch.js';
import type { MergeSet, ReplicaTransport } from './replica-pool.js';
import { replicateSloppy, type HintSink, type SloppyWrite } from './sloppy-replicate.js';
import { systemTimers } from './timers.js';

/** Storage nodes in memory: merges land in `merged` (with the replica a stand-in kept it for). */
class Nodes implements ReplicaTransport {
  readonly merged: { node: string; hintedFor: string }[] = [];
  constructor(readonly down: Set<string>) {}
  read(): Promise<storage.ReadResult> {
    return Promise.resolve({ versions: [], applied: [] });
  }
  coordinate(): Promise<storage.CoordinateResult> {
    return Promise.reject(new Error('not used'));
  }
  merge(node: string, _key: Buffer, _v: MergeSet, _t: number, _e: number, _applied?: storage.AppliedWrite[], hintedFor = ''): Promise<void> {
    if (this.down.has(node)) return Promise.reject(new ReplicaUnavailableError(node, 'connection refused'));
    this.merged.push({ node, hintedFor });
    return Promise.resolve();
  }
  isUp(node: string): boolean {
    return !this.down.has(node);
  }
}

/** A hint queue in memory; `events` interleaves stored hints with the answer. */
class Queue implements HintSink {
  readonly stored: { hint: hints.Hint; id: string }[] = [];
  constructor(
    private readonly on: HintsState = { on: true },
    private readonly fail = false,
  ) {}
  state(): HintsState {
    return this.on;
  }
  publish(hint: hints.Hint, id: string): Promise<void> {
    if (this.fail) return Promise.reject(new Error('nats: timeout'));
    this.stored.push({ hint, id });
    return Promise.resolve();
  }
}

const RECORD = Buffer.from([0x0a, 0x00]);

function write(over: Partial<SloppyWrite> = {}): SloppyWrite {
  return {
    key: Buffer.from('k'),
    minter: 'n1',
    versions: RECORD,
    primaries: ['n1', 'n2', 'n3'],
    pending: [],
    standInCandidates: ['n4', 'n5'],
    w: 2,
    pw: 0,
    writeId: 'rabc',
    ringEpoch: 1,
    callDeadlineMs: Number.POSITIVE_INFINITY,
    hasRequestId: true,
    ...over,
  };
}

function run(nodes: Nodes, queue: HintSink | undefined, w: SloppyWrite) {
  const health = { isDown: (n: string) => nodes.down.has(n), beyondHintWindow: () => false };
  return replicateSloppy(w, { hints: queue, health, transport: nodes, timers: systemTimers, replicaTimeoutMs: 1000 }, new FenceWatch());
}

describe('replicateSloppy', () => {
  it('stores a hint for a down primary before answering and lets the next healthy node stand in, counted toward W', async () => {
    const nodes = new Nodes(new Set(['n2']));
    const queue = new Queue();
    const handoff = await run(nodes, queue, write({ w: 3 }));
    expect(queue.stored).toEqual([{ hint: expect.objectContaining({ intendedNode: 'n2', standIns: ['n4'], versionsRecord: RECORD }) as unknown, id: 'rabc@n2' }]);
    expect(nodes.merged).toContainEqual({ node: 'n4', hintedFor: 'n2' });
    expect(handoff).toEqual({ standIns: [{ node: 'n4', replica: 'n2' }], hinted: ['n2'], unhinted: [] });
  });

  it('skips a down stand-in candidate and takes the next one on the ring', async () => {
    const nodes = new Nodes(new Set(['n2', 'n3', 'n4']));
    const queue = new Queue();
    const handoff = await run(nodes, queue, write({ w: 2 }));
    expect(handoff?.standIns.map((s) => s.node).sort()).toEqual(['n5']);
    expect(queue.stored.map((s) => s.hint.intendedNode).sort()).toEqual(['n2', 'n3']);
  });

  it('uses no stand-in when hints are off: only primaries count, and the answer says why', async () => {
    const nodes = new Nodes(new Set(['n2']));
    const off = new Queue({ on: false, reason: 'JetStream unreachable (connection refused)' });
    await expect(run(nodes, off, write({ w: 3 }))).rejects.toBeInstanceOf(WriteNotAcknowledgedError);
    const handoff = await run(nodes, off, write({ w: 2 }));
    expect(handoff).toEqual({ standIns: [], hinted: [], unhinted: [{ replica: 'n2', reason: 'JetStream unreachable (connection refused)' }] });
    expect(nodes.merged.some((m) => m.hintedFor !== '')).toBe(false);
  });

  it('does not count a stand-in whose hint JetStream did not store (the strict rule for that primary)', async () => {
    const nodes = new Nodes(new Set(['n2']));
    const err = await run(nodes, new Queue({ on: true }, true), write({ w: 3 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WriteNotAcknowledgedError);
    expect(nodes.merged.some((m) => m.node === 'n4')).toBe(false);
  });

  it('with pw, fails UNAVAILABLE naming how many primaries acknowledged rather than count a stand-in', async () => {
    const nodes = new Nodes(new Set(['n2']));
    const err = await run(nodes, new Queue(), write({ w: 2, pw: 3 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrimariesNotReachedError);
    expect((err as Error).message).toMatch(/pw not reached: 2 of the key's primary replicas acknowledged, pw=3 needed/);
  });

  it('hints a retried write under the same message id (JetStream then stores it once)', async () => {
    const nodes = new Nodes(new Set(['n3']));
    const queue = new Queue();
    await run(nodes, queue, write());
    await run(nodes, queue, write());
    expect(new Set(queue.stored.map((s) => s.id))).toEqual(new Set(['rabc@n3']));
  });

  it('with every primary up, hints nothing and reports no handoff', async () => {
    const nodes = new Nodes(new Set());
    const queue = new Queue();
    expect(await run(nodes, queue, write({ w: 3 }))).toBeUndefined();
    expect(queue.stored).toEqual([]);
  });
});
