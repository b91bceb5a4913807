/**
 * The anti-entropy worker: follows the ring, runs a pass over every (range, replica pair) once per
 * period — and sooner on `qkv repair`, for flagged ranges, for a node that came back — with at most `maxExchangesPerNode` sessions per node at a
 * time, skipping nodes that back off; repairs flagged keys before anything else; and after a pass
 * purges the tombstones every replica of an in-sync range holds past the grace period.
 */
import { arcIndexAt, sha1Position } from '@quorumkv/ring';
import type { Logger } from '@quorumkv/service-kit';
import { describeFailure } from './errors.js';
import { FlaggedKeys } from './flagged-keys.js';
import { repairKey } from './key-repair.js';
import { NodeHealth } from './node-health.js';
import { runPairSession, type ArcOutcome, type SessionOutcome } from './pair-session.js';
import { Pass, PASS_PRIORITY, type PassScope } from './pass.js';
import { RingPlan, type ClusterNode, type ClusterSnapshot, type NodePair, type RangeFilter } from './ring-plan.js';
import { ByteMeter, type StorageLink } from './storage-link.js';
import { SyncState } from './sync-state.js';
import { Throttle, type ThrottleSettings } from './throttle.js';
import { purgeRange } from './tombstone-purge.js';

/** Timers the worker uses (tests pass a fake clock). */
export interface WorkerClock {
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Calls `fn` after `ms`; the handle cancels it. */
  readonly setTimer: (fn: () => void, ms: number) => { cancel(): void };
  /** In [0, 1). */
  readonly random: () => number;
}

/** Options of {@link AntiEntropyWorker}. */
export interface WorkerOptions extends WorkerClock {
  /** The link to a storage node (the caller caches them by address). */
  readonly link: (node: ClusterNode) => StorageLink;
  readonly logger: Logger;
  readonly periodMs: number;
  readonly tombstoneGraceMs: number;
  readonly purgeTombstones: boolean;
  /**
   * Least time between two purges: a purge reads every key of the ranges it covers on every
   * replica, and tombstones only need to go eventually (the grace period is days). @default 0
   */
  readonly purgeIntervalMs?: number;
  readonly confirmPauseMs: number;
  readonly repairConcurrency: number;
  readonly throttle: ThrottleSettings;
  readonly slowCallMs: number;
  readonly backoffMaxMs: number;
  /**
   * Ranges a node is still building a tree for (it just started, or the ring changed) are compared
   * again this long later, within the same pass. @default 2000
   */
  readonly buildingRetryMs?: number;
  /** How long a pass keeps retrying such ranges before it counts them as failed. @default 300000 */
  readonly buildingWaitMs?: number;
}

/** Running totals since start. */
export interface WorkerCounters {
  /** (range, pair) comparisons finished (equal roots included). */
  exchanges: number;
  exchangesFailed: number;
  /** Comparisons whose roots differed (a tree walk). */
  treeWalks: number;
  keysRepaired: number;
  transientKeys: number;
  treeBytes: number;
  repairBytes: number;
  tombstonesPurged: number;
  flaggedKeysRepaired: number;
  passesCompleted: number;
  lastFullPassMs: number;
}

interface Queued {
  readonly pass: Pass;
  readonly pair: NodePair;
  readonly seq: number;
}

/** See the file comment. */
export class AntiEntropyWorker {
  readonly counters: WorkerCounters = {
    exchanges: 0,
    exchangesFailed: 0,
    treeWalks: 0,
    keysRepaired: 0,
    transientKeys: 0,
    treeBytes: 0,
    repairBytes: 0,
    tombstonesPurged: 0,
    flaggedKeysRepaired: 0,
    passesCompleted: 0,
    lastFullPassMs: 0,
  };
  /** Comparisons finished, by result (the metric's labels). */
  readonly results: Record<'in_sync' | 'repaired' | 'out_of_sync' | 'building' | 'failed', number> = { in_sync: 0, repaired: 0, out_of_sync: 0, building: 0, failed: 0 };
  readonly sync = new SyncState();
  readonly health: NodeHealth;
  readonly throttle: Throttle;
  readonly flagged = new FlaggedKeys();
  private plan: RingPlan | undefined;
  private nodes: ReadonlyMap<string, ClusterNode> = new Map();
  private queue: Queued[] = [];
  private seq = 0;
  private passIds = 0;
  private readonly running = new Map<string, number>();
  private readonly perNode = new Map<string, { exchanges: number; keysRepaired: number }>();
  private readonly passes = new Set<Pass>();
  private lastPass: Pass | undefined;
  private epochAbort = new AbortController();
  private readonly stopped = new AbortController();
  private nextScheduledAt = 0;
  /** When the last purge started (0: never). */
  private lastPurgeAt = 0;
  private scheduleTimer: { cancel(): void } | undefined;
  private flaggedRun: Promise<void> | undefined;
  /** Sessions waiting on a timer to run again (ranges still building). */
  private retriesPending = 0;
  private sessionCount = 0;
  private readonly work = new Set<Promise<unknown>>();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: WorkerOptions) {
    this.health = new NodeHealth({ now: options.now, random: options.random, maxMs: options.backoffMaxMs, slowCallMs: options.slowCallMs });
    this.throttle = new Throttle({ ...options.throttle, now: options.now, sleep: options.sleep });
  }

  /** The plan of the ring followed now (undefined before the first ring). */
  get currentPlan(): RingPlan | undefined {
    return this.plan;
  }

  /** The storage nodes of the ring followed now. */
  get clusterNodes(): ReadonlyMap<string, ClusterNode> {
    return this.nodes;
  }

  /** Comparisons and keys repaired in sessions involving `node`, since start. */
  nodeCounters(node: string): { readonly exchanges: number; readonly keysRepaired: number } {
    return this.perNode.get(node) ?? { exchanges: 0, keysRepaired: 0 };
  }

  /** The throttles changed: a higher per-node limit may let queued sessions start now. */
  throttleChanged(): void {
    this.pump();
  }

  /** Exchange sessions running now that involve `node`. */
  sessionsOn(node: string): number {
    return this.running.get(node) ?? 0;
  }

  /** Exchange sessions running now. */
  get sessionsRunning(): number {
    return this.sessionCount;
  }

  /** Passes not finished, oldest first. */
  activePasses(): Pass[] {
    return [...this.passes];
  }

  /** The last pass that finished. */
  get lastFinishedPass(): Pass | undefined {
    return this.lastPass;
  }

  /**
   * A new view of the cluster. A new ring epoch replans everything: sessions running on the old
   * one are stopped, their passes end, and a pass of the new ring starts at once. On the same
   * epoch only liveness changed: a node back from down gets a pass of its own ranges now.
   */
  setCluster(snapshot: ClusterSnapshot): void {
    const before = this.nodes;
    this.nodes = snapshot.nodes;
    if (this.plan !== undefined && this.plan.epoch === snapshot.view.epoch) {
      for (const [id, node] of snapshot.nodes) {
        if (node.alive && before.get(id)?.alive === false && this.plan.nodes().includes(id)) this.startPass({ trigger: 'node-returned', node: id });
      }
      this.pump();
      return;
    }
    const plan = new RingPlan(snapshot.view);
    this.plan = plan;
    this.sync.adopt(plan, this.options.now());
    this.epochAbort.abort(new Error(`ring epoch ${plan.epoch} replaced the one this exchange was planned on`));
    this.epochAbort = new AbortController();
    this.queue = [];
    for (const pass of this.passes) this.endPass(pass);
    for (const id of this.health.known()) if (!snapshot.nodes.has(id)) this.health.forget(id);
    this.options.logger.info({ epoch: plan.epoch, ranges: plan.arcs.length, nodes: plan.nodes().length }, 'following a new ring');
    // A new ring starts a pass at once: its ranges are not known to be in sync.
    this.nextScheduledAt = 0;
    this.schedule(this.options.now());
  }

  /**
   * Starts a pass now over the ranges of `node` (every node when undefined) overlapping `range`
   * (every range when undefined). Returns it, or undefined when there is nothing to exchange.
   */
  startPass(scope: PassScope): Pass | undefined {
    const plan = this.plan;
    if (plan === undefined || this.stopped.signal.aborted) return undefined;
    const pairs = plan.pairs({
      ...(scope.node !== undefined ? { node: scope.node } : {}),
      ...(scope.range !== undefined ? { range: scope.range } : {}),
      ...(scope.arcIds !== undefined ? { arcIds: scope.arcIds } : {}),
    });
    const pass = new Pass(++this.passIds, scope, plan.epoch, pairs, this.options.now());
    for (const p of pairs) for (const a of p.arcs) pass.arcsInSync.set(a.id, true);
    this.passes.add(pass);
    for (const pair of pairs) this.queue.push({ pass, pair, seq: this.seq++ });
    this.queue.sort((x, y) => PASS_PRIORITY[x.pass.scope.trigger] - PASS_PRIORITY[y.pass.scope.trigger] || x.seq - y.seq);
    this.options.logger.info({ pass: pass.id, trigger: scope.trigger, node: scope.node, exchanges: pass.exchangesTotal }, 'pass started');
    if (pairs.length === 0) this.finishPass(pass);
    this.pump();
    return pass;
  }

  /** Flags keys for repair before any exchange; returns how many were new. */
  flagKeys(keys: readonly Uint8Array[]): number {
    const accepted = this.flagged.add(keys);
    this.pump();
    return accepted;
  }

  /** Flags ranges: a pass over the arcs overlapping them starts before any other. */
  flagRanges(ranges: readonly RangeFilter[]): number {
    let n = 0;
    for (const range of ranges) if (this.startPass({ trigger: 'flagged', range }) !== undefined) n += 1;
    return n;
  }

  /** Stops: running sessions are abandoned between calls; resolves once they are. */
  async stop(): Promise<void> {
    this.stopped.abort(new Error('anti-entropy worker stopping'));
    this.epochAbort.abort(new Error('anti-entropy worker stopping'));
    this.scheduleTimer?.cancel();
    this.queue = [];
    await Promise.allSettled([...this.work]);
    for (const pass of this.passes) this.endPass(pass);
  }

  /** Resolves once nothing is queued, running or flagged (tests). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.sessionCount === 0 && this.retriesPending === 0 && this.flagged.size === 0 && this.flaggedRun === undefined && this.work.size === 0;
  }

  private track(p: Promise<unknown>): void {
    this.work.add(p);
    void p.finally(() => {
      this.work.delete(p);
      this.notifyIdle();
    });
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Starts the scheduled pass when it is due (at once on a new ring) and sets the timer of the
   * next. A scheduled pass still running when the next is due takes that slot: passes never pile up.
   */
  private schedule(now: number): void {
    this.scheduleTimer?.cancel();
    if (this.stopped.signal.aborted) return;
    if (this.nextScheduledAt === 0 || now >= this.nextScheduledAt) {
      const running = [...this.passes].some((p) => p.scope.trigger === 'schedule');
      this.nextScheduledAt = now + this.options.periodMs;
      if (running) this.options.logger.warn({ periodMs: this.options.periodMs }, 'the scheduled pass is still running when the next is due: the next starts one period later');
      else this.startPass({ trigger: 'schedule' });
    }
    this.scheduleTimer = this.options.setTimer(() => this.schedule(this.options.now()), Math.max(1, this.nextScheduledAt - now));
  }

  /** Starts every queued session whose two nodes have a free slot; flagged keys go first. */
  private pump(): void {
    if (this.stopped.signal.aborted) return;
    if (this.flagged.size > 0 && this.flaggedRun === undefined) {
      const run = this.repairFlagged().finally(() => {
        this.flaggedRun = undefined;
        this.pump();
      });
      this.flaggedRun = run;
      this.track(run);
    }
    if (this.flaggedRun !== undefined) return;
    const max = this.throttle.current.maxExchangesPerNode;
    for (let i = 0; i < this.queue.length; ) {
      const item = this.queue[i] as Queued;
      if ((this.running.get(item.pair.a) ?? 0) >= max || (this.running.get(item.pair.b) ?? 0) >= max) {
        i += 1;
        continue;
      }
      this.queue.splice(i, 1);
      this.runSession(item);
    }
    this.notifyIdle();
  }

  private runSession(item: Queued): void {
    const { pass, pair } = item;
    const a = this.nodes.get(pair.a);
    const b = this.nodes.get(pair.b);
    const skip = this.whyNot(a, pair.a) ?? this.whyNot(b, pair.b);
    if (skip !== undefined || a === undefined || b === undefined) {
      this.sessionDone(pass, pair, {
        a: pair.a,
        b: pair.b,
        arcs: pair.arcs.map((arc) => ({ arc, result: 'failed', comparedAt: this.options.now(), divergent: 0, repaired: 0, transient: 0, walked: false })),
        meter: new ByteMeter(),
        keysRepaired: 0,
        failure: { kind: 'node', node: skip?.node ?? '', message: skip?.reason ?? 'unknown node' },
      });
      return;
    }
    for (const n of [pair.a, pair.b]) this.running.set(n, (this.running.get(n) ?? 0) + 1);
    this.sessionCount += 1;
    const signal = this.epochAbort.signal;
    const run = runPairSession(this.options.link(a), this.options.link(b), pass.epoch, pair.arcs, {
      others: (arc) =>
        arc.replicas
          .map((r) => this.nodes.get(r))
          .filter((n): n is ClusterNode => n !== undefined && this.whyNot(n, n.id) === undefined)
          .map((n) => this.options.link(n)),
      arcsHeld: (node) => this.plan?.arcsHeld(node) ?? -1,
      throttle: this.throttle,
      health: this.health,
      pause: (s) => this.options.sleep(this.options.confirmPauseMs, s),
      sleep: this.options.sleep,
      repairConcurrency: this.options.repairConcurrency,
      now: this.options.now,
      logger: this.options.logger,
      signal,
      onArc: (o) => this.arcDone(pass, pair, o),
    })
      .then(
        (outcome) => this.sessionDone(pass, pair, outcome, false),
        (err: unknown) => {
          if (signal.aborted) return;
          // Not a node's failure (those end the session with `failure`): a bug, logged loudly.
          this.options.logger.error({ err, a: pair.a, b: pair.b }, 'exchange session failed');
          this.sessionDone(pass, pair, { a: pair.a, b: pair.b, arcs: [], meter: new ByteMeter(), keysRepaired: 0, failure: { kind: 'node', node: '', message: describeFailure(err) } });
        },
      )
      .finally(() => {
        for (const n of [pair.a, pair.b]) this.running.set(n, (this.running.get(n) ?? 1) - 1);
        this.sessionCount -= 1;
        this.pump();
      });
    this.track(run);
  }

  /** Why a node cannot take part in an exchange now, if it cannot. */
  private whyNot(node: ClusterNode | undefined, id: string): { node: string; reason: string } | undefined {
    if (node === undefined) return { node: id, reason: 'not a storage node of the ring' };
    if (!node.alive) return { node: id, reason: 'down (failure detection)' };
    if (this.health.isBlocked(id)) return { node: id, reason: `backing off until ${new Date(this.health.blockedUntil(id)).toISOString()}: ${this.health.lastError(id)}` };
    return undefined;
  }

  /** Whether arcs of `pair` found building are compared again within this pass. */
  private mayRetryBuilding(pass: Pass, pair: NodePair): boolean {
    const retryMs = this.options.buildingRetryMs ?? 2_000;
    const attempts = Math.ceil((this.options.buildingWaitMs ?? 300_000) / retryMs);
    return pass.epoch === this.plan?.epoch && (pass.buildingAttempts.get(pair.id) ?? 0) < attempts;
  }

  private arcDone(pass: Pass, pair: NodePair, o: ArcOutcome): void {
    if (pass.epoch !== this.plan?.epoch) return;
    // Compared again later in this pass: not done yet.
    if (o.result === 'building' && this.mayRetryBuilding(pass, pair)) return;
    this.sync.record(`${o.arc.start}:${o.arc.end}`, pair.a, pair.b, o.result, o.comparedAt);
    const id = `${o.arc.start}:${o.arc.end}`;
    if (o.result !== 'in-sync' && o.result !== 'repaired') pass.arcsInSync.set(id, false);
    pass.exchangesDone += 1;
    if (o.result === 'failed' || o.result === 'out-of-sync' || o.result === 'building') pass.exchangesFailed += 1;
    pass.keysRepaired += o.repaired;
    this.counters.exchanges += 1;
    for (const n of [pair.a, pair.b]) {
      let pn = this.perNode.get(n);
      if (pn === undefined) this.perNode.set(n, (pn = { exchanges: 0, keysRepaired: 0 }));
      pn.exchanges += 1;
      pn.keysRepaired += o.repaired;
    }
    this.results[o.result.replace(/-/g, '_') as keyof typeof this.results] += 1;
    if (o.result === 'failed' || o.result === 'out-of-sync') this.counters.exchangesFailed += 1;
    if (o.walked) this.counters.treeWalks += 1;
    this.counters.keysRepaired += o.repaired;
    this.counters.transientKeys += o.transient;
  }

  /** A session ended; `replay` records arcs of a session that never ran. */
  private sessionDone(pass: Pass, pair: NodePair, outcome: SessionOutcome, replay = true): void {
    const retry = outcome.failure === undefined && this.mayRetryBuilding(pass, pair);
    if (replay) for (const o of outcome.arcs) this.arcDone(pass, pair, o);
    pass.bytesExchanged += outcome.meter.total;
    this.counters.treeBytes += outcome.meter.tree;
    this.counters.repairBytes += outcome.meter.repair;
    if (outcome.failure !== undefined) {
      this.options.logger.warn({ pass: pass.id, a: outcome.a, b: outcome.b, failure: outcome.failure }, 'exchange session stopped early');
    }
    const building = new Set(outcome.arcs.filter((o) => o.result === 'building').map((o) => `${o.arc.start}:${o.arc.end}`));
    if (retry && building.size > 0) {
      // The session goes on later with the arcs a node was still building (a tree is built
      // in seconds): `qkv repair --wait` then ends once every range was really compared.
      pass.buildingAttempts.set(pair.id, (pass.buildingAttempts.get(pair.id) ?? 0) + 1);
      const again: NodePair = { ...pair, arcs: pair.arcs.filter((a) => building.has(a.id)) };
      this.retriesPending += 1;
      this.options.setTimer(() => {
        this.retriesPending -= 1;
        if (pass.finished || pass.epoch !== this.plan?.epoch) {
          this.notifyIdle();
          return;
        }
        this.queue.push({ pass, pair: again, seq: this.seq++ });
        this.queue.sort((x, y) => PASS_PRIORITY[x.pass.scope.trigger] - PASS_PRIORITY[y.pass.scope.trigger] || x.seq - y.seq);
        this.pump();
      }, this.options.buildingRetryMs ?? 2_000);
      return;
    }
    pass.sessionsLeft -= 1;
    if (pass.sessionsLeft === 0) this.finishPass(pass);
  }

  /** Every session of the pass ended: purge, record it. */
  private finishPass(pass: Pass): void {
    const done = (): void => {
      this.endPass(pass);
      this.counters.passesCompleted += 1;
      // A full pass counts only when every exchange of it completed: a range that could not be
      // compared (a node down) has not been exchanged, and the overdue alert must see it.
      if (pass.full && pass.exchangesFailed === 0) this.counters.lastFullPassMs = pass.finishedAtMs;
      this.options.logger.info({ pass: pass.id, ...pass.view() }, 'pass finished');
    };
    const purgeDue = this.lastPurgeAt === 0 || this.options.now() - this.lastPurgeAt >= (this.options.purgeIntervalMs ?? 0);
    if (!this.options.purgeTombstones || !purgeDue) return done();
    this.lastPurgeAt = this.options.now();
    const run = this.purge(pass).then(done, (err: unknown) => {
      this.options.logger.warn({ err, pass: pass.id }, 'tombstone purge stopped');
      done();
    });
    this.track(run);
  }

  private endPass(pass: Pass): void {
    if (!this.passes.delete(pass)) return;
    pass.finish(this.options.now());
    this.lastPass = pass;
  }

  /**
   * Purges, in each range this pass found in sync on every pair, the tombstones every replica
   * holds past the grace period (see `tombstone-purge.ts`). Nothing while ranges move.
   */
  private async purge(pass: Pass): Promise<void> {
    const plan = this.plan;
    if (plan === undefined || plan.epoch !== pass.epoch || plan.changesPending) return;
    const cutoff = this.options.now() - this.options.tombstoneGraceMs;
    const meter = new ByteMeter();
    for (const arc of plan.arcs) {
      if (pass.arcsInSync.get(arc.id) !== true || arc.replicas.length === 0) continue;
      const nodes = arc.replicas.map((id) => this.nodes.get(id));
      if (nodes.some((n) => n === undefined || !n.alive || this.health.isBlocked(n.id))) continue;
      const links = (nodes as ClusterNode[]).map((n) => this.options.link(n));
      const r = await purgeRange(links, plan.epoch, arc, cutoff, { throttle: this.throttle, meter, signal: this.epochAbort.signal });
      this.counters.tombstonesPurged += r.purged;
      if (r.purged > 0) this.options.logger.info({ start: arc.start, end: arc.end, ...r }, 'tombstones purged');
    }
    this.counters.repairBytes += meter.total;
  }

  /** Repairs flagged keys (reading every replica of each), before any exchange runs. */
  private async repairFlagged(): Promise<void> {
    const meter = new ByteMeter();
    try {
      while (this.flagged.size > 0 && !this.stopped.signal.aborted) {
        const plan = this.plan;
        if (plan === undefined) return;
        const ends = Uint32Array.from(plan.arcs.map((a) => a.end));
        const batch = this.flagged.take(256);
        let next = 0;
        let retried = 0;
        const worker = async (): Promise<void> => {
          while (next < batch.length) {
            const key = batch[next++] as Uint8Array;
            await this.throttle.keys(1, this.stopped.signal);
            const arc = plan.arcs[arcIndexAt(ends, sha1Position(key))];
            const nodes = (arc?.replicas ?? []).map((id) => this.nodes.get(id)).filter((n): n is ClusterNode => n !== undefined && n.alive);
            if (arc === undefined || nodes.length < arc.replicas.length) {
              this.flagged.retry(key);
              retried += 1;
              continue;
            }
            const result = await repairKey(
              plan.epoch,
              key,
              nodes.map((n) => ({ link: this.options.link(n) })),
              meter,
            );
            if (result.failed.length > 0) {
              for (const f of result.failed) this.health.failed(f.node, describeFailure(f.error));
              this.flagged.retry(key);
              retried += 1;
            } else {
              this.flagged.done(key);
              if (result.written > 0) this.counters.flaggedKeysRepaired += 1;
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(this.options.repairConcurrency, batch.length) }, worker));
        // Keys waiting for a replica to come back are retried after a while, not in a tight loop.
        if (retried === batch.length && this.flagged.size > 0) await this.options.sleep(Math.min(1_000, this.options.periodMs), this.stopped.signal);
      }
    } finally {
      this.counters.repairBytes += meter.total;
    }
  }
}
