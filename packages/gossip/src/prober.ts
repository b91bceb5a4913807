import type { Clock, Timer } from './clock.js';
import type { GossipConfig } from './config.js';
import type { MutableCounters } from './events.js';
import type { LocalHealth } from './local-health.js';
import type { MemberUpdate } from './member.js';
import type { MemberEntry, MemberTable } from './member-table.js';
import type { AckBody, GossipPacket, NackBody, PacketBody, PingBody, PingReqBody } from './messages.js';

/** What the prober needs from the member that runs it. */
export interface ProbeHost {
  readonly table: MemberTable;
  readonly clock: Clock;
  readonly config: GossipConfig;
  readonly health: LocalHealth;
  readonly counters: MutableCounters;
  /** Sends a protocol message, `lead` first among the piggybacked updates. */
  send(address: string, body: PacketBody, lead?: MemberUpdate): void;
  /** This member's probe of `entry` (at `incarnation`) failed: raise a suspicion. */
  suspect(entry: MemberEntry, incarnation: number): void;
  /** A suspect or down claim about `id` if this member holds one, to tell it when it talks to us. */
  accusation(id: string): MemberUpdate | undefined;
  /** The probe order wrapped around (housekeeping point). */
  onRoundEnd(): void;
  /** A stall was detected (late timer or event-loop delay). */
  onStall(delayMs: number): void;
}

interface AckWaiter {
  readonly onAck: () => void;
  readonly onNack: () => void;
}

/**
 * SWIM's failure detector, one probe per interval: ping the next member; if no ack within the
 * probe timeout, ask `indirectChecks` others to ping it for us (a lost packet or a bad link
 * between us and it then does not make it suspect); no ack by the end of the interval — suspect.
 * Relayed probes and acks share one sequence space, so an ack counts however it came back.
 */
export class Prober {
  private readonly waiters = new Map<number, AckWaiter>();
  private readonly timers = new Set<Timer>();
  private tickTimer: Timer | undefined;
  private seq = 0;
  private running = false;

  constructor(private readonly host: ProbeHost) {}

  /** Starts probing after `firstDelayMs` (a random stagger, so members do not tick together). */
  start(firstDelayMs: number): void {
    this.running = true;
    this.tickTimer = this.host.clock.setTimer(firstDelayMs, () => this.tick());
  }

  /** Stops probing; probes in flight are dropped without a verdict. */
  stop(): void {
    this.running = false;
    this.tickTimer?.cancel();
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    this.waiters.clear();
  }

  /** Answers a ping addressed to this member. */
  handlePing(packet: GossipPacket, body: PingBody): void {
    // Why check the name: the address may now belong to another member (a restart elsewhere);
    // acking for it would keep a dead member alive.
    if (body.target !== this.host.table.self.id) {
      this.host.counters.misdirectedPings += 1;
      return;
    }
    // A member we hold suspect or down that still pings us hears so in our ack and can refute
    // at once, instead of waiting for a push-pull to tell it (a healed partition, a restart).
    this.host.send(packet.fromAddress, { kind: 'ack', seq: body.seq }, this.host.accusation(packet.from));
  }

  /** Probes `body.target` on behalf of the sender and relays the ack, or a nack after the probe timeout. */
  handlePingReq(packet: GossipPacket, body: PingReqBody): void {
    if (!this.running) return;
    const seq = this.nextSeq();
    let done = false;
    const timer = this.after(body.timeoutMs > 0 ? body.timeoutMs : this.host.config.probeTimeoutMs, () => {
      if (done) return;
      done = true;
      this.waiters.delete(seq);
      const nack: NackBody = { kind: 'nack', seq: body.seq };
      this.host.send(packet.fromAddress, nack);
    });
    this.waiters.set(seq, {
      onAck: () => {
        if (done) return;
        done = true;
        timer.cancel();
        this.waiters.delete(seq);
        const ack: AckBody = { kind: 'ack', seq: body.seq };
        this.host.send(packet.fromAddress, ack);
      },
      onNack: () => undefined,
    });
    this.host.send(body.targetAddress, { kind: 'ping', seq, target: body.target });
  }

  handleAck(body: AckBody): void {
    this.waiters.get(body.seq)?.onAck();
  }

  handleNack(body: NackBody): void {
    this.waiters.get(body.seq)?.onNack();
  }

  private tick(): void {
    if (!this.running) return;
    const { config, health, table } = this.host;
    if (health.sampleLoopDelay()) this.host.onStall(config.loopDelayThresholdMs);
    const intervalMs = health.scale(config.probeIntervalMs);
    this.tickTimer = this.host.clock.setTimer(intervalMs, () => this.tick());
    const target = table.nextProbeTarget(() => this.host.onRoundEnd());
    if (target) this.probe(target, intervalMs);
  }

  private probe(target: MemberEntry, intervalMs: number): void {
    const { config, health, counters, table } = this.host;
    counters.probes += 1;
    const seq = this.nextSeq();
    const incarnation = target.incarnation;
    let acked = false;
    let nacks = 0;
    let expectedNacks = 0;
    let timer: Timer | undefined;
    this.waiters.set(seq, {
      onAck: () => {
        if (acked) return;
        acked = true;
        timer?.cancel();
        this.waiters.delete(seq);
        health.apply(-1);
      },
      onNack: () => {
        nacks += 1;
      },
    });
    // Lifeguard's "tell the suspect first": a suspect hears the accusation with the ping itself,
    // so it can refute in its ack instead of after the rumour has gone round.
    const lead: MemberUpdate | undefined =
      target.state === 'suspect' ? { kind: 'suspect', id: target.id, incarnation, from: table.self.id } : undefined;
    this.host.send(target.address, { kind: 'ping', seq, target: target.id }, lead);
    timer = this.after(config.probeTimeoutMs, () => {
      if (acked || !this.running) return;
      counters.indirectProbes += 1;
      const relays = table.randomMembers(config.indirectChecks, (e) => e !== target && e.state === 'alive');
      expectedNacks = relays.length;
      // Relays give up after 80% of what is left of this probe, so their nacks arrive before its
      // deadline: a nack that comes too late reads as a relay that never answered, which local
      // health blames on this member.
      const remainingMs = Math.max(0, intervalMs - config.probeTimeoutMs);
      const timeoutMs = Math.max(1, Math.floor(0.8 * remainingMs));
      for (const relay of relays) {
        this.host.send(relay.address, { kind: 'ping-req', seq, target: target.id, targetAddress: target.address, timeoutMs });
      }
      // A second direct ping beside the relayed ones (memberlist's fallback ping, which it sends
      // over TCP): a single lost ping or ack then costs the target nothing, where otherwise every
      // relay path (four packets each) would have to work. It cuts false suspicions about tenfold
      // at 5% loss, for one extra packet per missed ack.
      this.host.send(target.address, { kind: 'ping', seq, target: target.id }, lead);
      timer = this.after(remainingMs, () => {
        if (acked || !this.running) return;
        this.waiters.delete(seq);
        counters.probesFailed += 1;
        // Why missing nacks count against us: relays that answer nothing suggest our own links
        // or process are the problem, so we should slow down before accusing more members.
        health.apply(expectedNacks > 0 ? expectedNacks - nacks : 1);
        this.host.suspect(target, incarnation);
      });
    });
  }

  /**
   * A timer whose verdict waits out a stall of this process: if it fires more than
   * `stallToleranceMs` late, acks may be sitting unread behind it (timers run before I/O after a
   * stall), so it waits once more — as long as it was late, at most a probe timeout — before
   * acting. A target that is really gone is then suspected a little later; one that answered
   * while this process was frozen is not suspected at all.
   */
  private after(delayMs: number, fn: () => void): Timer {
    const { clock, config } = this.host;
    const due = clock.now() + delayMs;
    let inner: Timer | undefined;
    const outer = clock.setTimer(delayMs, () => {
      this.timers.delete(outer);
      const late = clock.now() - due;
      if (late <= config.stallToleranceMs) return fn();
      this.host.counters.stalledTimers += 1;
      this.host.onStall(late);
      inner = clock.setTimer(Math.min(late, config.probeTimeoutMs), () => {
        if (inner) this.timers.delete(inner);
        fn();
      });
      this.timers.add(inner);
    });
    this.timers.add(outer);
    return {
      cancel: () => {
        outer.cancel();
        this.timers.delete(outer);
        if (inner) {
          inner.cancel();
          this.timers.delete(inner);
        }
      },
    };
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }
}
