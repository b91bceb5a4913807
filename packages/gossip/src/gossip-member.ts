import { BroadcastQueue } from './broadcast-queue.js';
import { type Clock, type Timer, systemClock } from './clock.js';
import { type GossipConfig, pushPullIntervalFor, resolveConfig, suspicionTimeoutMs } from './config.js';
import { GossipStoppedError } from './errors.js';
import {
  type GossipCounters,
  type MemberEvent,
  type MemberEventType,
  type MemberListener,
  type ProtocolEvent,
  type ProtocolListener,
  zeroCounters,
} from './events.js';
import { LocalHealth, type LoopDelaySource } from './local-health.js';
import { type MemberPayload, type MemberRecord, type MemberSnapshot, type MemberState, type MemberUpdate, updateBytes } from './member.js';
import { checkIdentity, checkPayload, initialMeta, type MemberMetaInput, mergeMeta } from './member-data.js';
import { type MemberEntry, MemberTable } from './member-table.js';
import { type GossipPacket, type PacketBody, packetKind } from './messages.js';
import { Prober } from './prober.js';
import { mathRandom, type Random, randomInt } from './random.js';
import { type JoinResult, StateSync } from './state-sync.js';
import { Suspicion } from './suspicion.js';
import type { GossipTransport } from './transport.js';

/** How to build a {@link GossipMember}. */
export interface GossipMemberOptions {
  /** This member's unique, stable name (e.g. the node id). */
  readonly id: string;
  /** Where other members reach this one through the transport (host:port for gRPC). */
  readonly address: string;
  readonly meta?: MemberMetaInput;
  /** A first payload, if the member starts with one. */
  readonly payload?: MemberPayload;
  readonly transport: GossipTransport;
  /** Protocol settings over the defaults (memberlist's LAN profile). */
  readonly config?: Partial<GossipConfig>;
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default mathRandom */
  readonly random?: Random;
  /** The process's own stalls, for local health; real wiring passes `monitorLoopDelay().read`. */
  readonly loopDelay?: LoopDelaySource;
  /** Starting incarnation (a restarted member refutes its old life anyway). @default 0 */
  readonly incarnation?: number;
  /** Members known at start without gossiping about them (a restored view, a converged simulation). */
  readonly knownMembers?: readonly MemberRecord[];
}

type Lifecycle = 'created' | 'running' | 'left' | 'stopped';

const stateKey = (id: string): string => `s:${id}`;
const payloadKey = (id: string): string => `p:${id}`;

/**
 * One member of a SWIM cluster (with Lifeguard's local health, dynamic suspicion and "tell the
 * suspect first"): it probes others, spreads what it learns piggybacked on its packets, syncs full
 * state now and then, and reports changes as events. Single-threaded and callback-driven: all
 * time comes from the injected clock, all randomness from the injected generator, all I/O through
 * the transport — so the same code runs over gRPC and in a simulated network.
 */
export class GossipMember {
  readonly config: GossipConfig;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly transport: GossipTransport;
  private readonly table: MemberTable;
  private readonly queue: BroadcastQueue;
  private readonly health: LocalHealth;
  private readonly prober: Prober;
  private readonly sync: StateSync;
  private readonly counts = zeroCounters();
  private readonly memberListeners = new Set<MemberListener>();
  private readonly protocolListeners = new Set<ProtocolListener>();
  private gossipTimer: Timer | undefined;
  /** Gossip rounds fall on gossipPhase + k × gossipIntervalMs (a random phase per member). */
  private gossipPhase = 0;
  private lifecycle: Lifecycle = 'created';

  constructor(options: GossipMemberOptions) {
    checkIdentity(options.id, options.address);
    this.config = resolveConfig(options.config);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? mathRandom;
    this.transport = options.transport;
    const meta = initialMeta(options.meta, this.config.maxMetaBytes);
    const payload = options.payload && checkPayload(options.payload, undefined, this.config.maxPayloadBytes);
    this.table = new MemberTable(
      { id: options.id, address: options.address, meta, incarnation: options.incarnation ?? 0, payload },
      this.random,
      () => this.clock.now(),
    );
    for (const record of options.knownMembers ?? []) this.table.addKnown(record);
    this.queue = new BroadcastQueue(this.config.retransmitMult);
    this.health = new LocalHealth(this.config.awarenessMaxMultiplier, options.loopDelay, this.config.loopDelayThresholdMs);
    const host = {
      table: this.table,
      clock: this.clock,
      config: this.config,
      health: this.health,
      counters: this.counts,
      send: (address: string, body: PacketBody, lead?: MemberUpdate) => this.send(address, body, lead),
      apply: (update: MemberUpdate) => this.apply(update),
      suspect: (entry: MemberEntry, incarnation: number) => this.raiseSuspicion(entry, incarnation),
      accusation: (id: string) => this.accusation(id),
      onRoundEnd: () => this.forgetOld(),
      onStall: (delayMs: number) => this.emitProtocol({ type: 'stalled', delayMs, healthScore: this.health.score }),
    };
    this.prober = new Prober(host);
    this.sync = new StateSync(host);
  }

  /** This member's id. */
  get id(): string {
    return this.table.self.id;
  }

  /** Lifeguard's local health score: 0 is healthy; timeouts are multiplied by score + 1. */
  get healthScore(): number {
    return this.health.score;
  }

  /** Starts listening, probing, gossiping and syncing. Call `join` next unless this is the first member. */
  start(): void {
    if (this.lifecycle !== 'created') throw new GossipStoppedError('start (already started)');
    this.lifecycle = 'running';
    this.transport.listen((packet) => this.receive(packet));
    const { probeIntervalMs, gossipIntervalMs, pushPullIntervalMs } = this.config;
    this.prober.start(randomInt(this.random, probeIntervalMs));
    this.sync.start(randomInt(this.random, pushPullIntervalFor(pushPullIntervalMs, this.table.liveCount)));
    this.gossipPhase = this.clock.now() + randomInt(this.random, gossipIntervalMs);
    this.scheduleGossip();
  }

  /**
   * Joins the cluster through seed addresses (its own address is skipped): pushes this member's
   * state to them and merges the first answer. Resolves at once with no other seed.
   * @throws JoinError when no seed answers within `timeoutMs`.
   */
  join(seeds: readonly string[], timeoutMs = this.config.joinTimeoutMs): Promise<JoinResult> {
    if (this.lifecycle !== 'running') return Promise.reject(new GossipStoppedError('join'));
    return this.sync.join(seeds, timeoutMs);
  }

  /**
   * Announces that this member is leaving and stops probing; resolves once the announcement has
   * been sent its full number of times, or after `timeoutMs`. Call `stop` afterwards.
   */
  leave(timeoutMs = 5_000): Promise<void> {
    if (this.lifecycle !== 'running') return Promise.resolve();
    this.lifecycle = 'left';
    this.prober.stop();
    const self = this.table.self;
    this.table.setState(self, 'left');
    if (this.table.liveCount === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = this.clock.setTimer(timeoutMs, resolve);
      this.broadcast(stateKey(self.id), { kind: 'left', id: self.id, incarnation: self.incarnation }, () => {
        timer.cancel();
        resolve();
      });
    });
  }

  /** Stops every timer and closes the transport. Does not announce anything: use `leave` first for that. */
  async stop(): Promise<void> {
    if (this.lifecycle === 'stopped') return;
    this.lifecycle = 'stopped';
    this.prober.stop();
    this.sync.stop();
    this.gossipTimer?.cancel();
    for (const entry of this.table.entries()) entry.suspicion?.cancel();
    this.queue.clear();
    await this.transport.close();
  }

  /** Changes this member's metadata (unset fields keep their value) and gossips it under a new incarnation. */
  updateMeta(input: MemberMetaInput): void {
    if (this.lifecycle === 'stopped' || this.lifecycle === 'left') throw new GossipStoppedError('update metadata');
    const self = this.table.self;
    self.meta = mergeMeta(input, self.meta, this.config.maxMetaBytes);
    self.incarnation += 1;
    this.broadcast(stateKey(self.id), this.aliveClaim());
  }

  /** Publishes a new payload version (it must be above the current one) to the cluster. */
  setPayload(payload: MemberPayload): void {
    if (this.lifecycle === 'stopped' || this.lifecycle === 'left') throw new GossipStoppedError('set the payload');
    const self = this.table.self;
    self.payload = checkPayload(payload, self.payload, this.config.maxPayloadBytes);
    this.broadcast(payloadKey(self.id), { kind: 'payload', id: self.id, ...self.payload });
  }

  /** Every member this one knows, itself included, with liveness as it sees it now. */
  members(): MemberSnapshot[] {
    return [...this.table.entries()].map((e) => this.table.snapshot(e));
  }

  /** One member as this one sees it, or undefined. */
  member(id: string): MemberSnapshot | undefined {
    const entry = this.table.get(id);
    return entry && this.table.snapshot(entry);
  }

  /** Members alive or suspect, this one included unless it left. */
  get liveCount(): number {
    return this.table.liveCount;
  }

  /** The counters so far (a copy). */
  counters(): GossipCounters {
    return { ...this.counts, packetsSentByKind: { ...this.counts.packetsSentByKind } };
  }

  /** Calls `listener` on every change to another member; returns the function that unsubscribes. */
  onMemberEvent(listener: MemberListener): () => void {
    this.memberListeners.add(listener);
    return () => this.memberListeners.delete(listener);
  }

  /** Calls `listener` on this member's own protocol decisions; returns the function that unsubscribes. */
  onProtocolEvent(listener: ProtocolListener): () => void {
    this.protocolListeners.add(listener);
    return () => this.protocolListeners.delete(listener);
  }

  /** Handles one packet from the transport: piggybacked updates first, then the message. */
  private receive(packet: GossipPacket): void {
    if (this.lifecycle !== 'running' && this.lifecycle !== 'left') return;
    this.counts.packetsReceived += 1;
    // Why updates first: a ping that carries "you are suspect" lets this member refute before it
    // acks, so the refutation rides back on the ack itself.
    for (const update of packet.updates) this.apply(update);
    const body = packet.body;
    if (!body) return;
    switch (body.kind) {
      case 'ping':
        return this.prober.handlePing(packet, body);
      case 'ping-req':
        return this.prober.handlePingReq(packet, body);
      case 'ack':
        return this.prober.handleAck(body);
      case 'nack':
        return this.prober.handleNack(body);
      case 'push-pull':
        return this.sync.handle(packet, body);
    }
  }

  /** Applies one claim and acts on the outcome: re-gossip, refute, suspicion timers, events. */
  private apply(update: MemberUpdate): void {
    const outcome = this.table.apply(update);
    switch (outcome.result) {
      case 'ignored':
        return;
      case 'refute':
        return this.refute(update.kind as MemberState, outcome.claimIncarnation);
      case 'confirm':
        if (update.kind === 'suspect' && outcome.entry.suspicion?.confirm(update.from)) {
          this.counts.suspicionConfirmations += 1;
          this.broadcast(stateKey(update.id), update);
        }
        return;
      case 'payload':
        this.broadcast(payloadKey(update.id), update);
        return this.emitMember('payload', outcome.entry, outcome.entry.state);
      case 'applied': {
        const { entry, previous, metaChanged } = outcome;
        this.broadcast(stateKey(update.id), update);
        if (entry.state === 'suspect') {
          if (!entry.suspicion) this.startSuspicion(entry, update.kind === 'suspect' ? update.from : this.id);
          else if (update.kind === 'suspect') entry.suspicion.confirm(update.from);
        } else if (entry.suspicion) {
          entry.suspicion.cancel();
          entry.suspicion = undefined;
        }
        if (previous !== entry.state) this.emitMember(entry.state, entry, previous);
        if (metaChanged) this.emitMember('meta', entry, previous);
      }
    }
  }

  private raiseSuspicion(entry: MemberEntry, incarnation: number): void {
    this.counts.suspicionsRaised += 1;
    this.emitProtocol({ type: 'suspicion-raised', id: entry.id, incarnation });
    this.apply({ kind: 'suspect', id: entry.id, incarnation, from: this.id });
  }

  /**
   * Starts the suspect → down timer. Its range follows memberlist: the minimum is
   * `suspicionMult × max(1, log10 N) × probe interval`, the start `suspicionMaxTimeoutMult` times
   * that, reached down to the minimum after `suspicionMult − 2` independent confirmations
   * (none expected in a cluster too small to give them).
   */
  private startSuspicion(entry: MemberEntry, from: string): void {
    const { suspicionMult, suspicionMaxTimeoutMult, probeIntervalMs } = this.config;
    const n = this.table.liveCount;
    const k = n - 2 < suspicionMult - 2 ? 0 : suspicionMult - 2;
    const minMs = suspicionTimeoutMs(suspicionMult, n, probeIntervalMs);
    entry.suspicion = new Suspicion({
      from,
      k,
      minMs,
      maxMs: minMs * suspicionMaxTimeoutMult,
      clock: this.clock,
      onTimeout: (confirmations) => {
        entry.suspicion = undefined;
        if (entry.state !== 'suspect' || this.table.get(entry.id) !== entry || this.lifecycle === 'stopped') return;
        this.counts.downsDeclared += 1;
        this.emitProtocol({ type: 'declared-down', id: entry.id, incarnation: entry.incarnation, confirmations });
        this.apply({ kind: 'down', id: entry.id, incarnation: entry.incarnation, from: this.id });
      },
    });
  }

  /** Answers a claim about this member with a higher incarnation, gossiped like any news. */
  private refute(claim: MemberState, claimIncarnation: number): void {
    const self = this.table.self;
    self.incarnation = Math.max(self.incarnation, claimIncarnation) + 1;
    this.counts.refutations += 1;
    // Lifeguard: having to refute hints that this member is the slow one.
    this.health.apply(1);
    this.broadcast(stateKey(self.id), this.aliveClaim());
    this.emitProtocol({ type: 'refuted', claim, incarnation: self.incarnation });
  }

  private accusation(id: string): MemberUpdate | undefined {
    const entry = this.table.get(id);
    if (!entry || entry === this.table.self) return undefined;
    if (entry.state !== 'suspect' && entry.state !== 'down') return undefined;
    return { kind: entry.state, id, incarnation: entry.incarnation, from: this.id };
  }

  private aliveClaim(): MemberUpdate {
    const self = this.table.self;
    return { kind: 'alive', id: self.id, incarnation: self.incarnation, address: self.address, meta: self.meta };
  }

  /** Queues an update for gossip and makes sure a gossip round is coming. */
  private broadcast(key: string, update: MemberUpdate, onDone?: () => void): void {
    this.queue.enqueue(key, update, onDone);
    this.scheduleGossip();
  }

  /**
   * Arms the next gossip round while updates wait. Rounds keep the member's fixed phase, as a
   * ticker would; the ticker is simply not run while there is nothing to say (memberlist's ticks
   * then send nothing either), which spares an idle member — and the simulator — four wake-ups
   * out of five.
   */
  private scheduleGossip(): void {
    if (this.gossipTimer || (this.lifecycle !== 'running' && this.lifecycle !== 'left') || this.queue.size === 0) return;
    const interval = this.config.gossipIntervalMs;
    const now = this.clock.now();
    const next = now < this.gossipPhase ? this.gossipPhase : this.gossipPhase + (Math.floor((now - this.gossipPhase) / interval) + 1) * interval;
    this.gossipTimer = this.clock.setTimer(next - now, () => this.gossipTick());
  }

  /** Sends pending updates to `gossipNodes` random members (and recently-down ones, so they can refute). */
  private gossipTick(): void {
    this.gossipTimer = undefined;
    if (this.lifecycle === 'stopped') return;
    const { gossipNodes, gossipToTheDeadMs, maxPacketBytes } = this.config;
    const now = this.clock.now();
    const targets = this.table.randomMembers(
      gossipNodes,
      (e) => e.state === 'alive' || e.state === 'suspect' || (e.state === 'down' && now - e.stateChangedAt < gossipToTheDeadMs),
    );
    for (const target of targets) {
      const updates = this.queue.take(maxPacketBytes, this.table.liveCount);
      if (updates.length === 0) break;
      this.transmit(target.address, { from: this.id, fromAddress: this.table.self.address, body: undefined, updates });
    }
    this.scheduleGossip();
  }

  private send(address: string, body: PacketBody, lead?: MemberUpdate): void {
    const budget = this.config.maxPacketBytes - (lead ? updateBytes(lead) : 0);
    const updates = this.queue.take(budget, this.table.liveCount);
    if (lead) updates.unshift(lead);
    this.transmit(address, { from: this.id, fromAddress: this.table.self.address, body, updates });
  }

  private transmit(address: string, packet: GossipPacket): void {
    this.counts.packetsSent += 1;
    this.counts.packetsSentByKind[packetKind(packet)] += 1;
    this.transport.send(address, packet);
  }

  /** Forgets members down or left for longer than `forgetAfterMs` (run once per probe round). */
  private forgetOld(): void {
    const { forgetAfterMs } = this.config;
    if (forgetAfterMs <= 0) return;
    const now = this.clock.now();
    for (const entry of [...this.table.entries()]) {
      if ((entry.state === 'down' || entry.state === 'left') && now - entry.stateChangedAt > forgetAfterMs) {
        this.table.forget(entry.id);
      }
    }
  }

  private emitMember(type: MemberEventType, entry: MemberEntry, previous: MemberState | undefined): void {
    if (this.memberListeners.size === 0) return;
    const event: MemberEvent = { type, member: this.table.snapshot(entry), previous };
    for (const listener of this.memberListeners) this.callListener(() => listener(event));
  }

  private emitProtocol(event: ProtocolEvent): void {
    for (const listener of this.protocolListeners) this.callListener(() => listener(event));
  }

  private callListener(call: () => void): void {
    try {
      call();
    } catch {
      // A listener's fault must not stop the failure detector; it is counted for the embedder to see.
      this.counts.listenerErrors += 1;
    }
  }
}
