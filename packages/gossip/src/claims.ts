import type { Clock } from './clock.js';
import { type GossipConfig, suspicionTimeoutMs } from './config.js';
import { type Dissemination, payloadKey, stateKey } from './dissemination.js';
import type { MemberEventType, MutableCounters, ProtocolEvent } from './events.js';
import type { LocalHealth } from './local-health.js';
import type { MemberState, MemberUpdate } from './member.js';
import type { MemberEntry, MemberTable } from './member-table.js';
import { Suspicion } from './suspicion.js';

/** What claim handling needs from the member that runs it. */
export interface ClaimsHost {
  readonly table: MemberTable;
  readonly clock: Clock;
  readonly config: GossipConfig;
  readonly counters: MutableCounters;
  readonly health: LocalHealth;
  readonly dissemination: Dissemination;
  emitMember(type: MemberEventType, entry: MemberEntry, previous: MemberState | undefined): void;
  emitProtocol(event: ProtocolEvent): void;
  isStopped(): boolean;
}

/**
 * Acting on claims: the table says what a claim changed ({@link MemberTable.apply}); this re-gossips
 * news, refutes claims about this member, runs the suspect → down timers and reports events.
 */
export class Claims {
  constructor(private readonly host: ClaimsHost) {}

  /**
   * Applies one claim, from a packet, a state sync, or this member's own verdicts, and re-gossips
   * what was news — except a member first heard of in a state sync (`origin` 'sync-new'): that
   * is this member catching up (a join pulls every member at once), not news to the cluster, and
   * re-gossiping it would make every join cost N broadcasts.
   */
  apply(update: MemberUpdate, origin: 'gossip' | 'sync-new' = 'gossip'): void {
    const { table, dissemination, counters } = this.host;
    const outcome = table.apply(update);
    switch (outcome.result) {
      case 'ignored':
        return;
      case 'refute':
        return this.refute(update.kind as MemberState, outcome.claimIncarnation);
      case 'confirm':
        if (update.kind === 'suspect' && outcome.entry.suspicion?.confirm(update.from)) {
          counters.suspicionConfirmations += 1;
          dissemination.broadcast(stateKey(update.id), update);
        }
        return;
      case 'payload':
        if (origin !== 'sync-new') dissemination.broadcast(payloadKey(update.id), update);
        return this.host.emitMember('payload', outcome.entry, outcome.entry.state);
      case 'applied': {
        const { entry, previous, metaChanged } = outcome;
        if (origin !== 'sync-new') dissemination.broadcast(stateKey(update.id), update);
        if (entry.state === 'suspect') {
          if (!entry.suspicion) this.startSuspicion(entry, update.kind === 'suspect' ? update.from : table.self.id);
          else if (update.kind === 'suspect') entry.suspicion.confirm(update.from);
        } else if (entry.suspicion) {
          entry.suspicion.cancel();
          entry.suspicion = undefined;
        }
        if (previous !== entry.state) this.host.emitMember(entry.state, entry, previous);
        if (metaChanged) this.host.emitMember('meta', entry, previous);
      }
    }
  }

  /** This member's own probe of `entry` failed: it suspects it, at the incarnation it probed. */
  raiseSuspicion(entry: MemberEntry, incarnation: number): void {
    this.host.counters.suspicionsRaised += 1;
    this.host.emitProtocol({ type: 'suspicion-raised', id: entry.id, incarnation });
    this.apply({ kind: 'suspect', id: entry.id, incarnation, from: this.host.table.self.id });
  }

  /** The suspect or down claim this member holds about `id`, if any. */
  accusation(id: string): MemberUpdate | undefined {
    const { table } = this.host;
    const entry = table.get(id);
    if (!entry || entry === table.self) return undefined;
    if (entry.state !== 'suspect' && entry.state !== 'down') return undefined;
    return { kind: entry.state, id, incarnation: entry.incarnation, from: table.self.id };
  }

  /** This member's own alive claim at its current incarnation. */
  aliveClaim(): MemberUpdate {
    const self = this.host.table.self;
    return { kind: 'alive', id: self.id, incarnation: self.incarnation, address: self.address, meta: self.meta };
  }

  /**
   * Starts the suspect → down timer. Its range follows memberlist: the minimum is
   * `suspicionMult × max(1, log10 N) × probe interval`, the start `suspicionMaxTimeoutMult` times
   * that, reached down to the minimum after `suspicionMult − 2` independent confirmations
   * (none expected in a cluster too small to give them).
   */
  private startSuspicion(entry: MemberEntry, from: string): void {
    const { table, clock, config, counters } = this.host;
    const { suspicionMult, suspicionMaxTimeoutMult, probeIntervalMs } = config;
    const n = table.liveCount;
    const k = n - 2 < suspicionMult - 2 ? 0 : suspicionMult - 2;
    const minMs = suspicionTimeoutMs(suspicionMult, n, probeIntervalMs);
    entry.suspicion = new Suspicion({
      from,
      k,
      minMs,
      maxMs: minMs * suspicionMaxTimeoutMult,
      clock,
      onTimeout: (confirmations) => {
        entry.suspicion = undefined;
        if (entry.state !== 'suspect' || table.get(entry.id) !== entry || this.host.isStopped()) return;
        counters.downsDeclared += 1;
        this.host.emitProtocol({ type: 'declared-down', id: entry.id, incarnation: entry.incarnation, confirmations });
        this.apply({ kind: 'down', id: entry.id, incarnation: entry.incarnation, from: table.self.id });
      },
    });
  }

  /** Answers a claim about this member with a higher incarnation, gossiped like any news. */
  private refute(claim: MemberState, claimIncarnation: number): void {
    const { table, counters, health, dissemination } = this.host;
    const self = table.self;
    self.incarnation = Math.max(self.incarnation, claimIncarnation) + 1;
    counters.refutations += 1;
    // Lifeguard: having to refute hints that this member is the slow one.
    health.apply(1);
    dissemination.broadcast(stateKey(self.id), this.aliveClaim());
    this.host.emitProtocol({ type: 'refuted', claim, incarnation: self.incarnation });
  }
}
