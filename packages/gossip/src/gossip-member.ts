import { Claims } from './claims.js';
import { type Clock, systemClock } from './clock.js';
import { type GossipConfig, pushPullIntervalFor, resolveConfig } from './config.js';
import { Dissemination, payloadKey, stateKey } from './dissemination.js';
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
import type { MemberPayload, MemberRecord, MemberSnapshot, MemberState, MemberUpdate } from './member.js';
import { checkIdentity, checkPayload, initialMeta, type MemberMetaInput, mergeMeta } from './member-data.js';
import { type MemberEntry, MemberTable } from './member-table.js';
import type { GossipPacket, PacketBody } from './messages.js';
import { Prober } from './prober.js';
import { mathRandom, type Random, randomInt } from './random.js';
import { type JoinResult, StateSync } from './state-sync.js';
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
  private readonly health: LocalHealth;
  private readonly dissemination: Dissemination;
  private readonly claims: Claims;
  private readonly prober: Prober;
  private readonly sync: StateSync;
  private readonly counts = zeroCounters();
  private readonly memberListeners = new Set<MemberListener>();
  private readonly protocolListeners = new Set<ProtocolListener>();
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
    this.health = new LocalHealth(this.config.awarenessMaxMultiplier, options.loopDelay, this.config.loopDelayThresholdMs);
    const base = { table: this.table, clock: this.clock, config: this.config, counters: this.counts, health: this.health };
    this.dissemination = new Dissemination({
      ...base,
      transport: this.transport,
      isActive: () => this.lifecycle === 'running' || this.lifecycle === 'left',
    });
    this.claims = new Claims({
      ...base,
      dissemination: this.dissemination,
      emitMember: (type, entry, previous) => this.emitMember(type, entry, previous),
      emitProtocol: (event) => this.emitProtocol(event),
      isStopped: () => this.lifecycle === 'stopped',
    });
    const protocol = {
      ...base,
      send: (address: string, body: PacketBody, lead?: MemberUpdate) => this.dissemination.send(address, body, lead),
      apply: (update: MemberUpdate, origin?: 'gossip' | 'sync-new') => this.claims.apply(update, origin),
      suspect: (entry: MemberEntry, incarnation: number) => this.claims.raiseSuspicion(entry, incarnation),
      accusation: (id: string) => this.claims.accusation(id),
      onRoundEnd: () => this.forgetOld(),
      onStall: (delayMs: number) => this.emitProtocol({ type: 'stalled', delayMs, healthScore: this.health.score }),
    };
    this.prober = new Prober(protocol);
    this.sync = new StateSync(protocol);
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
    this.dissemination.start(this.clock.now() + randomInt(this.random, gossipIntervalMs));
  }

  /**
   * Joins the cluster through seed addresses (its own address is skipped): pushes this member's
   * state to them and merges the first answer. Resolves at once with no other seed.
   * @throws JoinError when no seed answers within `timeoutMs`.
   */
  join(seeds: readonly string[], timeoutMs = this.config.joinTimeoutMs): Promise<JoinResult> {
    if (this.lifecycle !== 'running') return Promise.reject(new GossipStoppedError('join'));
    // Announce ourselves: the seed does not re-gossip a member it first hears of in a sync, so the
    // joiner's own alive claim is what spreads the news (to every member it learns of from the seed).
    this.dissemination.broadcast(stateKey(this.id), this.claims.aliveClaim());
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
      this.dissemination.broadcast(stateKey(self.id), { kind: 'left', id: self.id, incarnation: self.incarnation }, () => {
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
    this.dissemination.stop();
    for (const entry of this.table.entries()) entry.suspicion?.cancel();
    await this.transport.close();
  }

  /** Changes this member's metadata (unset fields keep their value) and gossips it under a new incarnation. */
  updateMeta(input: MemberMetaInput): void {
    if (this.lifecycle === 'stopped' || this.lifecycle === 'left') throw new GossipStoppedError('update metadata');
    const self = this.table.self;
    self.meta = mergeMeta(input, self.meta, this.config.maxMetaBytes);
    self.incarnation += 1;
    this.dissemination.broadcast(stateKey(self.id), this.claims.aliveClaim());
  }

  /** Publishes a new payload version (it must be above the current one) to the cluster. */
  setPayload(payload: MemberPayload): void {
    if (this.lifecycle === 'stopped' || this.lifecycle === 'left') throw new GossipStoppedError('set the payload');
    const self = this.table.self;
    self.payload = checkPayload(payload, self.payload, this.config.maxPayloadBytes);
    this.dissemination.broadcast(payloadKey(self.id), { kind: 'payload', id: self.id, ...self.payload });
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
    for (const update of packet.updates) this.claims.apply(update);
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
