import { createLogger } from '@quorumkv/service-kit';
import type { Version } from '@quorumkv/vclock';
import { arcIndexAt, sha1Position } from '@quorumkv/ring';
import { describe, expect, it } from 'vitest';
import { RingPlan } from './ring-plan.js';
import { MemoryCluster } from './testing/memory-cluster.js';
import { AntiEntropyWorker, type WorkerOptions } from './worker.js';

const logger = createLogger({ service: 'anti-entropy', level: 'silent' });
const DAY = 24 * 3_600_000;

function version(node: string, counter: number, options: { value?: string; tombstone?: boolean; at?: number; context?: Version['context'] } = {}): Version {
  return {
    dot: { node, epoch: 1n, counter },
    context: options.context ?? [],
    value: Buffer.from(options.tombstone === true ? '' : (options.value ?? `v${counter}`)),
    tombstone: options.tombstone ?? false,
    writtenAtMs: options.at ?? 0,
  };
}

/** A worker over a memory cluster with a clock the test moves and no real waiting. */
function setup(ids: string[], overrides: Partial<WorkerOptions> = {}): {
  cluster: MemoryCluster;
  worker: AntiEntropyWorker;
  clock: { t: number };
  timers: { fn: () => void; at: number }[];
  fireTimers: () => void;
} {
  const cluster = new MemoryCluster(ids);
  const clock = { t: 100 * DAY };
  const timers: { fn: () => void; at: number }[] = [];
  const worker = new AntiEntropyWorker({
    link: (n) => cluster.node(n.id),
    logger,
    periodMs: 3_600_000,
    tombstoneGraceMs: 10 * DAY,
    purgeTombstones: true,
    confirmPauseMs: 7,
    repairConcurrency: 8,
    throttle: { exchangesPerSecond: 1_000_000, keysPerSecond: 1_000_000, maxExchangesPerNode: 1 },
    slowCallMs: 1e9,
    backoffMaxMs: 60_000,
    now: () => clock.t,
    sleep: () => Promise.resolve(),
    setTimer: (fn, ms) => {
      const timer = { fn, at: clock.t + ms };
      timers.push(timer);
      return { cancel: () => timers.splice(timers.indexOf(timer) >>> 0, 1) };
    },
    random: () => 0.5,
    ...overrides,
  });
  const fireTimers = (): void => {
    for (const t of timers.splice(0).filter((x) => x.at <= clock.t)) t.fn();
  };
  return { cluster, worker, clock, timers, fireTimers };
}

function fill(cluster: MemoryCluster, keys: number): void {
  for (let i = 0; i < keys; i++) for (const n of cluster.replicasOf(`key-${i}`)) cluster.node(n).put(`key-${i}`, [version('n1', i + 1)]);
}

function allEqual(cluster: MemoryCluster, keys: number): boolean {
  for (let i = 0; i < keys; i++) {
    const sets = cluster.replicasOf(`key-${i}`).map((n) => JSON.stringify(cluster.node(n).get(`key-${i}`), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
    if (new Set(sets).size !== 1) return false;
  }
  return true;
}

describe('AntiEntropyWorker', () => {
  it('a pass repairs exactly the keys diverged on one replica (changed or lost), each once, by clock merge', async () => {
    const { cluster, worker } = setup(['n1', 'n2', 'n3']);
    fill(cluster, 3_000);
    const n2 = cluster.node('n2');
    let changed = 0;
    let lost = 0;
    for (let i = 0; i < 3_000; i += 50) {
      const key = `key-${i}`;
      if (i % 100 === 0) {
        // A concurrent write n2 alone took: the merge keeps both siblings everywhere.
        n2.put(key, [version('n1', i + 1), version('n2', 7_000 + i)]);
        changed += 1;
      } else {
        n2.put(key, []);
        lost += 1;
      }
    }
    worker.setCluster(cluster.snapshot);
    await worker.idle();
    expect(worker.counters.keysRepaired).toBe(changed + lost);
    expect(allEqual(cluster, 3_000)).toBe(true);
    expect(cluster.node('n3').get('key-0').map((v) => v.dot.node)).toEqual(['n1', 'n2']);
    expect(worker.sync.counts(100 * DAY, 3_600_000)).toMatchObject({ outOfSync: 0, unknown: 0 });

    const before = worker.counters.keysRepaired;
    worker.startPass({ trigger: 'manual' });
    await worker.idle();
    expect(worker.counters.keysRepaired).toBe(before);
    expect(worker.counters.treeWalks).toBeGreaterThan(0);
  });

  it('a write in flight between the two looks is not counted as a repair; a diverged key of the same range is', async () => {
    const { cluster, worker } = setup(['n1', 'n2', 'n3'], {
      sleep: (ms) => {
        // The confirmation pause: the write in flight reaches the other replicas meanwhile.
        if (ms === 7) for (const n of cluster.replicasOf('key-5')) cluster.node(n).put('key-5', [version('n1', 6), version('n3', 99)]);
        return Promise.resolve();
      },
    });
    fill(cluster, 400);
    const arcs = new RingPlan(cluster.snapshot.view).arcs;
    const ends = Uint32Array.from(arcs.map((a) => a.end));
    const arcOf = (key: string): number => arcIndexAt(ends, sha1Position(key));
    const sameRange = Array.from({ length: 400 }, (_, i) => `key-${i}`).find((k) => k !== 'key-5' && arcOf(k) === arcOf('key-5'));
    expect(sameRange).toBeDefined();
    // Both on one replica, so the exchange that sees one sees the other (same range, same pair).
    const [first] = cluster.replicasOf('key-5') as [string];
    cluster.node(first).put('key-5', [version('n1', 6), version('n3', 99)]);
    cluster.node(first).put(sameRange as string, [version('n1', 10), version('n2', 500)]);
    worker.setCluster(cluster.snapshot);
    await worker.idle();
    expect(worker.counters.keysRepaired).toBe(1);
    expect(worker.counters.transientKeys).toBe(1);
    expect(allEqual(cluster, 400)).toBe(true);
  });

  it('a replica that is down leaves its ranges out of sync; when it comes back a pass of its own repairs it', async () => {
    const { cluster, worker, clock } = setup(['n1', 'n2', 'n3', 'n4']);
    fill(cluster, 1_000);
    worker.setCluster(cluster.setAlive('n3', false));
    await worker.idle();
    const counts = worker.sync.counts(clock.t, 3_600_000);
    expect(counts.outOfSync).toBeGreaterThan(0);
    expect(counts.inSync).toBeGreaterThan(0);
    // n3 missed writes while down.
    let missed = 0;
    for (let i = 0; i < 1_000; i += 10) {
      if (!cluster.replicasOf(`key-${i}`).includes('n3')) continue;
      missed += 1;
      for (const n of cluster.replicasOf(`key-${i}`)) if (n !== 'n3') cluster.node(n).put(`key-${i}`, [version('n1', i + 1), version('n2', 5_000 + i)]);
    }
    const repairedBefore = worker.counters.keysRepaired;
    worker.setCluster(cluster.setAlive('n3', true));
    await worker.idle();
    expect(worker.counters.keysRepaired - repairedBefore).toBe(missed);
    expect(worker.lastFinishedPass?.scope).toMatchObject({ trigger: 'node-returned', node: 'n3' });
    expect(allEqual(cluster, 1_000)).toBe(true);
    expect(worker.sync.counts(clock.t, 3_600_000).outOfSync).toBe(0);
  });

  it('purges tombstones past the grace period that every replica holds, and only those; key counts go down', async () => {
    const { cluster, worker, clock } = setup(['n1', 'n2', 'n3']);
    fill(cluster, 600);
    const old = clock.t - 11 * DAY;
    const recent = clock.t - 1 * DAY;
    for (let i = 0; i < 600; i += 3) {
      const at = i % 2 === 0 ? old : recent;
      for (const n of cluster.replicasOf(`key-${i}`)) cluster.node(n).put(`key-${i}`, [version('n1', 10_000 + i, { tombstone: true, at })]);
    }
    const oldTombstones = Array.from({ length: 600 }, (_, i) => i).filter((i) => i % 3 === 0 && i % 2 === 0).length;
    const keysBefore = [...cluster.nodes.values()].reduce((n, node) => n + node.data.size, 0);
    worker.setCluster(cluster.snapshot);
    await worker.idle();
    expect(worker.counters.tombstonesPurged).toBe(3 * oldTombstones);
    const keysAfter = [...cluster.nodes.values()].reduce((n, node) => n + node.data.size, 0);
    expect(keysBefore - keysAfter).toBe(3 * oldTombstones);
    for (let i = 0; i < 600; i += 3) {
      for (const n of cluster.replicasOf(`key-${i}`)) expect(cluster.node(n).get(`key-${i}`).length).toBe(i % 2 === 0 ? 0 : 1);
    }
    expect(allEqual(cluster, 600)).toBe(true);
  });

  it('a replica that missed a delete and was down past the grace period does not resurrect the key', async () => {
    const { cluster, worker, clock } = setup(['n1', 'n2', 'n3']);
    fill(cluster, 300);
    const [, , stale] = cluster.replicasOf('key-42') as [string, string, string];
    // The delete reaches two replicas; the third is down and keeps the value.
    const tombstone = version('n1', 9_001, { tombstone: true, at: clock.t, context: [{ node: 'n1', epoch: 1n, counter: 43, timestampMs: clock.t }] });
    for (const n of cluster.replicasOf('key-42')) if (n !== stale) cluster.node(n).put('key-42', [tombstone]);
    worker.setCluster(cluster.setAlive(stale, false));
    await worker.idle();
    // Twelve days pass: the tombstone is past the grace period, but one replica never confirmed it.
    clock.t += 12 * DAY;
    worker.startPass({ trigger: 'manual' });
    await worker.idle();
    expect(worker.counters.tombstonesPurged).toBe(0);
    for (const n of cluster.replicasOf('key-42')) if (n !== stale) expect(cluster.node(n).get('key-42')).toHaveLength(1);
    // The stale replica returns: the exchange hands it the tombstone, and only then is it purged everywhere.
    worker.setCluster(cluster.setAlive(stale, true));
    await worker.idle();
    worker.startPass({ trigger: 'manual' });
    await worker.idle();
    for (const n of cluster.replicasOf('key-42')) expect(cluster.node(n).get('key-42')).toEqual([]);
    expect(worker.counters.tombstonesPurged).toBe(3);
    // Nothing brings it back.
    worker.startPass({ trigger: 'manual' });
    await worker.idle();
    for (const n of cluster.replicasOf('key-42')) expect(cluster.node(n).get('key-42')).toEqual([]);
  });

  it('repairs flagged keys before any exchange runs, reading every replica', async () => {
    const { cluster, worker } = setup(['n1', 'n2', 'n3']);
    fill(cluster, 100);
    worker.setCluster(cluster.snapshot);
    await worker.idle();
    const [first] = cluster.replicasOf('key-3') as [string];
    cluster.node(first).put('key-3', [version('n1', 4), version('n1', 5_000)]);
    const order: string[] = [];
    for (const node of cluster.nodes.values()) node.onCall = (what) => order.push(what);
    expect(worker.flagKeys([Buffer.from('key-3')])).toBe(1);
    worker.startPass({ trigger: 'manual' });
    await worker.idle();
    expect(worker.counters.flaggedKeysRepaired).toBe(1);
    expect(order.indexOf('read')).toBeLessThan(order.indexOf('summaries'));
    expect(allEqual(cluster, 100)).toBe(true);
  });

  it('a new ring replans: ranges of the new epoch are exchanged, the old plan is dropped', async () => {
    const { cluster, worker } = setup(['n1', 'n2', 'n3']);
    fill(cluster, 500);
    worker.setCluster(cluster.snapshot);
    await worker.idle();
    const epoch1Ranges = worker.currentPlan?.arcs.length ?? 0;
    // n4 joins (its data arrived by streaming: the test copies the keys it now replicates).
    const snapshot = cluster.setRing(2, ['n1', 'n2', 'n3', 'n4']);
    for (let i = 0; i < 500; i++) {
      if (cluster.replicasOf(`key-${i}`).includes('n4')) cluster.node('n4').put(`key-${i}`, cluster.node('n1').get(`key-${i}`).length > 0 ? cluster.node('n1').get(`key-${i}`) : cluster.node('n2').get(`key-${i}`));
    }
    worker.setCluster(snapshot);
    await worker.idle();
    expect(worker.currentPlan?.epoch).toBe(2);
    expect(worker.currentPlan?.arcs.length).toBeGreaterThan(epoch1Ranges);
    expect(worker.sync.counts(0, 3_600_000)).toMatchObject({ unknown: 0, outOfSync: 0 });
  });

  it('never runs two sessions on one node at once with the default of one exchange per node', async () => {
    const { cluster, worker } = setup(['n1', 'n2', 'n3', 'n4', 'n5']);
    fill(cluster, 300);
    for (let i = 0; i < 300; i += 7) cluster.node(cluster.replicasOf(`key-${i}`)[0] as string).put(`key-${i}`, []);
    let worst = 0;
    let concurrentPairs = 0;
    for (const node of cluster.nodes.values()) {
      // Every call takes a turn of the event loop, so sessions overlap in time.
      node.delay = () => new Promise((resolve) => setImmediate(resolve));
      node.onCall = (what) => {
        if (what === 'read' || what === 'merge') return;
        worst = Math.max(worst, worker.sessionsOn(node.node));
        concurrentPairs = Math.max(concurrentPairs, worker.sessionsRunning);
      };
    }
    worker.setCluster(cluster.snapshot);
    await worker.idle();
    expect(worst).toBe(1);
    // Five nodes: two disjoint pairs can and do run at the same time.
    expect(concurrentPairs).toBe(2);
    expect(worker.counters.passesCompleted).toBe(1);
  });

  it('starts the next scheduled pass when the period has passed', async () => {
    const { cluster, worker, clock, fireTimers } = setup(['n1', 'n2', 'n3']);
    fill(cluster, 50);
    worker.setCluster(cluster.snapshot);
    await worker.idle();
    expect(worker.counters.passesCompleted).toBe(1);
    clock.t += 3_600_000;
    fireTimers();
    await worker.idle();
    expect(worker.counters.passesCompleted).toBe(2);
    expect(worker.counters.lastFullPassMs).toBe(clock.t);
  });

  it('compares again, within the same pass, the ranges a node was still building a tree for', async () => {
    const { cluster, worker, clock, fireTimers } = setup(['n1', 'n2', 'n3']);
    fill(cluster, 300);
    const n2 = cluster.node('n2');
    for (let i = 0; i < 300; i += 30) n2.put(`key-${i}`, []);
    const plan = new RingPlan(cluster.snapshot.view);
    for (const arc of plan.arcs) n2.building.add(arc.id);
    worker.setCluster(cluster.snapshot);
    let idle = false;
    void worker.idle().then(() => {
      idle = true;
    });
    for (let turn = 0; turn < 200 && !idle; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      // The tree is ready a few seconds later.
      if (turn === 20) n2.building.clear();
      clock.t += 2_000;
      fireTimers();
    }
    expect(idle).toBe(true);
    expect(worker.counters.passesCompleted).toBe(1);
    expect(worker.lastFinishedPass?.view()).toMatchObject({ exchangesDone: worker.lastFinishedPass?.exchangesTotal, exchangesFailed: 0, keysRepaired: 10 });
    expect(allEqual(cluster, 300)).toBe(true);
  });
});
