import type { Clock, Timer } from './clock.js';
import { type GossipConfig, pushPullIntervalFor } from './config.js';
import { JoinError } from './errors.js';
import type { MutableCounters } from './events.js';
import type { MemberRecord, MemberUpdate } from './member.js';
import type { MemberTable } from './member-table.js';
import type { GossipPacket, PacketBody, PushPullBody } from './messages.js';

/** What the state sync needs from the member that runs it. */
export interface SyncHost {
  readonly table: MemberTable;
  readonly clock: Clock;
  readonly config: GossipConfig;
  readonly counters: MutableCounters;
  send(address: string, body: PacketBody): void;
  /** Applies a claim; 'sync-new' marks one about a member first heard of in this sync. */
  apply(update: MemberUpdate, origin?: 'gossip' | 'sync-new'): void;
}

/** What `join` found. */
export interface JoinResult {
  /** The seed that answered first. */
  readonly seed: string;
  /** Members this member knows once that answer is merged, itself included. */
  readonly members: number;
}

interface PendingJoin {
  readonly seq: number;
  readonly seeds: readonly string[];
  readonly resolve: (result: JoinResult) => void;
  readonly reject: (err: Error) => void;
  readonly timers: Timer[];
}

/**
 * Push-pull: every so often, exchange the whole member list with one random member. Gossip alone
 * converges with high probability; this makes it certain over time, heals a partition's two
 * halves, and is how a new member joins (it pushes to a seed and pulls everything back).
 */
export class StateSync {
  private timer: Timer | undefined;
  private seq = 0;
  private pendingJoin: PendingJoin | undefined;
  private running = false;

  constructor(private readonly host: SyncHost) {}

  /** Starts periodic syncs after `firstDelayMs`. */
  start(firstDelayMs: number): void {
    this.running = true;
    this.timer = this.host.clock.setTimer(firstDelayMs, () => this.tick());
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.settleJoin((p) => p.reject(new JoinError(p.seeds, 0)));
  }

  /**
   * Sends this member's state to every seed, again every `joinRetryMs`, and resolves on the
   * first answer (merged like any sync); rejects with {@link JoinError} after `joinTimeoutMs`.
   */
  join(seeds: readonly string[], timeoutMs: number): Promise<JoinResult> {
    const self = this.host.table.self;
    const targets = [...new Set(seeds)].filter((a) => a !== self.address);
    if (targets.length === 0) return Promise.resolve({ seed: self.address, members: this.host.table.size });
    this.settleJoin((p) => p.reject(new JoinError(p.seeds, 0)));
    return new Promise<JoinResult>((resolve, reject) => {
      const pending: PendingJoin = { seq: this.nextSeq(), seeds: targets, resolve, reject, timers: [] };
      this.pendingJoin = pending;
      const ask = (): void => {
        if (this.pendingJoin !== pending) return;
        for (const seed of targets) this.sendState(seed, pending.seq, true);
        pending.timers.push(this.host.clock.setTimer(this.host.config.joinRetryMs, ask));
      };
      pending.timers.push(
        this.host.clock.setTimer(timeoutMs, () => this.settleJoin((p) => p.reject(new JoinError(p.seeds, timeoutMs)))),
      );
      ask();
    });
  }

  /** Merges a sync from another member and answers a request with this member's state. */
  handle(packet: GossipPacket, body: PushPullBody): void {
    this.merge(body.members, packet.from);
    if (!body.reply) {
      this.sendState(packet.fromAddress, body.seq, body.join, true);
      return;
    }
    this.host.counters.pushPulls += 1;
    const pending = this.pendingJoin;
    if (pending && body.seq === pending.seq) {
      this.settleJoin((p) => p.resolve({ seed: packet.fromAddress, members: this.host.table.size }));
    }
  }

  private tick(): void {
    if (!this.running) return;
    const { table, config, clock } = this.host;
    this.timer = clock.setTimer(pushPullIntervalFor(config.pushPullIntervalMs, table.liveCount), () => this.tick());
    const [peer] = table.randomMembers(1, (e) => e.state === 'alive');
    if (peer) this.sendState(peer.address, this.nextSeq(), false);
    // Also one member held down, as Serf reconnects to failed members: down members are not
    // probed, so after a partition heals (or when this member was the one cut off and now holds
    // everyone down) this sync is what lets each side hear the other's claims and refute them.
    const [down] = table.randomMembers(1, (e) => e.state === 'down');
    if (down) this.sendState(down.address, this.nextSeq(), false);
  }

  private sendState(address: string, seq: number, join: boolean, reply = false): void {
    this.host.send(address, { kind: 'push-pull', seq, join, reply, members: this.host.table.records() });
  }

  /**
   * Applies a remote member list as claims. A remote 'down' becomes only a suspicion here
   * (memberlist's rule): this member then probes it itself, and the member, if alive, refutes —
   * one member's stale verdict does not condemn a member everyone else can reach.
   */
  private merge(members: readonly MemberRecord[], from: string): void {
    const { table } = this.host;
    for (const r of members) {
      const known = table.get(r.id);
      // Most records of a sync match what is known: skip them without building claims.
      if (known && known.incarnation === r.incarnation && known.state === r.state && known.payload?.version === r.payload?.version) continue;
      const origin = known ? 'gossip' : 'sync-new';
      switch (r.state) {
        case 'alive':
          this.host.apply({ kind: 'alive', id: r.id, incarnation: r.incarnation, address: r.address, meta: r.meta }, origin);
          break;
        case 'left':
          this.host.apply({ kind: 'left', id: r.id, incarnation: r.incarnation });
          break;
        case 'suspect':
        case 'down':
          this.host.apply({ kind: 'suspect', id: r.id, incarnation: r.incarnation, from });
          break;
      }
      if (r.payload) this.host.apply({ kind: 'payload', id: r.id, version: r.payload.version, data: r.payload.data }, origin);
    }
  }

  private settleJoin(settle: (pending: PendingJoin) => void): void {
    const pending = this.pendingJoin;
    if (!pending) return;
    this.pendingJoin = undefined;
    for (const t of pending.timers) t.cancel();
    settle(pending);
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }
}
