import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveConfig, suspicionTimeoutMs } from './config.js';
import { MemberDataError } from './errors.js';
import type { MemberEvent } from './events.js';
import type { MemberUpdate } from './member.js';
import type { GossipPacket } from './messages.js';
import { SimCluster, simMemberId } from './sim/sim-cluster.js';

const id = simMemberId;

/** Hands `updates` to member `to` as if a member 'outsider' had gossiped them. */
function inject(cluster: SimCluster, to: number, updates: MemberUpdate[]): void {
  const packet: GossipPacket = { from: 'outsider', fromAddress: 'outsider:1', body: undefined, updates };
  cluster.endpoints[to]?.deliver(packet);
}

function states(cluster: SimCluster, of: number, except: ReadonlySet<number> = new Set()): string[] {
  return cluster.members.filter((_, i) => i !== of && !except.has(i)).map((m) => m.member(id(of))?.state ?? 'unknown');
}

/** Runs until `done` holds (checked every 100 ms of simulated time) or `boundMs` passes; returns the time taken. */
function runUntil(cluster: SimCluster, done: () => boolean, boundMs: number): number {
  const start = cluster.sim.now;
  while (!done() && cluster.sim.now - start < boundMs) cluster.runFor(100);
  return cluster.sim.now - start;
}

describe('GossipMember on a simulated network', () => {
  it('a live member that is suspected refutes: everyone ends with it alive at a higher incarnation, and nobody declares it down', () => {
    const cluster = new SimCluster({ nodes: 8, seed: 3 });
    cluster.runFor(3_000);
    inject(cluster, 1, [{ kind: 'suspect', id: id(5), incarnation: 0, from: 'outsider' }]);
    cluster.runFor(20_000);
    expect(cluster.members[5]?.counters().refutations).toBeGreaterThanOrEqual(1);
    expect(states(cluster, 5)).toEqual(Array(7).fill('alive'));
    for (const m of cluster.members) expect(m.member(id(5))?.incarnation).toBeGreaterThanOrEqual(1);
    expect(cluster.total('downsDeclared')).toBe(0);
  });

  it('tells a suspect first: a ping to a member held suspect carries the suspicion, and the refutation comes back', () => {
    const cluster = new SimCluster({ nodes: 4, seed: 5 });
    const pings: GossipPacket[] = [];
    const m2 = cluster.addressOf(2);
    // Only pings reach m2, so the ping is the one way it can hear that it is suspected.
    cluster.network.dropIf = (from, to, packet) => {
      if (to !== m2) return false;
      if (from === cluster.addressOf(0) && packet.body?.kind === 'ping') pings.push(packet);
      return packet.body?.kind !== 'ping';
    };
    inject(cluster, 0, [{ kind: 'suspect', id: id(2), incarnation: 0, from: 'outsider' }]);
    runUntil(cluster, () => pings.length > 0, 10_000);
    expect(pings[0]?.updates[0]).toEqual({ kind: 'suspect', id: id(2), incarnation: 0, from: id(0) });
    cluster.runFor(1_000);
    expect(cluster.members[2]?.counters().refutations).toBe(1);
    expect(cluster.members[0]?.member(id(2))).toMatchObject({ state: 'alive', incarnation: 1 });
  });

  it('a member that truly died is declared down by every live member within the bound (2N probe intervals + the longest suspicion + 10 s)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 40 }), fc.integer({ min: 0, max: 1_000_000 }), (nodes, seed) => {
        const cluster = new SimCluster({ nodes, seed });
        const config = resolveConfig();
        cluster.runFor(2_000);
        const victim = seed % nodes;
        cluster.crash(victim);
        const boundMs =
          2 * nodes * config.probeIntervalMs + suspicionTimeoutMs(config.suspicionMult, nodes, config.probeIntervalMs) * config.suspicionMaxTimeoutMult + 10_000;
        runUntil(cluster, () => states(cluster, victim, new Set([victim])).every((s) => s === 'down'), boundMs);
        expect(states(cluster, victim, new Set([victim]))).toEqual(Array(nodes - 1).fill('down'));
      }),
      { numRuns: 12 },
    );
  });

  it('raises no suspicion at all without loss or pauses', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 50 }), fc.integer({ min: 0, max: 1_000_000 }), (nodes, seed) => {
        const cluster = new SimCluster({ nodes, seed });
        cluster.runFor(300_000);
        expect(cluster.total('suspicionsRaised')).toBe(0);
        expect(cluster.total('downsDeclared')).toBe(0);
      }),
      { numRuns: 8 },
    );
  });

  it('declares no live member down at 1% and 5% packet loss (40 members, one simulated hour each)', () => {
    for (const lossRate of [0.01, 0.05]) {
      const cluster = new SimCluster({ nodes: 40, seed: 11, lossRate });
      cluster.runFor(3_600_000);
      expect({ lossRate, downs: cluster.total('downsDeclared') }).toEqual({ lossRate, downs: 0 });
      expect(cluster.network.stats.lost).toBeGreaterThan(0);
    }
  });

  it('members that start alone converge through one seed', () => {
    const cluster = new SimCluster({ nodes: 20, seed: 2, converged: false });
    runUntil(cluster, () => cluster.members.every((m) => m.liveCount === 20), 30_000);
    for (const m of cluster.members) expect(m.members().filter((s) => s.state === 'alive')).toHaveLength(20);
  });

  it('a member that leaves is seen as left (not down) by everyone, and stays left', async () => {
    const cluster = new SimCluster({ nodes: 10, seed: 4 });
    cluster.runFor(2_000);
    const events: MemberEvent[] = [];
    cluster.members[0]?.onMemberEvent((e) => events.push(e));
    const leaving = cluster.members[3]?.leave() ?? Promise.reject(new Error('no member 3'));
    cluster.runFor(10_000);
    await leaving;
    await cluster.members[3]?.stop();
    cluster.runFor(120_000);
    expect(states(cluster, 3, new Set([3]))).toEqual(Array(9).fill('left'));
    expect(events.map((e) => [e.type, e.member.id])).toEqual([['left', id(3)]]);
    expect(cluster.total('suspicionsRaised')).toBe(0);
  });

  it('spreads metadata and payload changes to everyone, as meta and payload events', () => {
    const cluster = new SimCluster({ nodes: 10, seed: 6 });
    cluster.runFor(2_000);
    const events: MemberEvent[] = [];
    cluster.members[7]?.onMemberEvent((e) => events.push(e));
    const m2 = cluster.members[2];
    m2?.updateMeta({ zone: 'eu-1b', role: 'storage' });
    m2?.setPayload({ version: 5, data: new Uint8Array([0, 5]) });
    cluster.runFor(5_000);
    for (const m of cluster.members) {
      const seen = m.member(id(2));
      expect(seen?.meta).toMatchObject({ zone: 'eu-1b', role: 'storage' });
      expect(seen?.payload?.version).toBe(5);
      expect([...(seen?.payload?.data ?? [])]).toEqual([0, 5]);
    }
    expect(events.map((e) => e.type).sort()).toEqual(['meta', 'payload']);
    expect(() => m2?.setPayload({ version: 5, data: new Uint8Array() })).toThrow(MemberDataError);
    expect(() => m2?.updateMeta({ tags: { big: 'x'.repeat(600) } })).toThrow(MemberDataError);
  });

  it('a crashed member that restarts (incarnation 0, knowing nobody) and joins is alive again everywhere', async () => {
    const cluster = new SimCluster({ nodes: 10, seed: 8 });
    cluster.runFor(2_000);
    cluster.crash(4);
    runUntil(cluster, () => states(cluster, 4, new Set([4])).every((s) => s === 'down'), 120_000);
    const restarted = cluster.restart(4, 0);
    const joined = restarted.join([cluster.addressOf(0)]);
    const tookMs = runUntil(cluster, () => states(cluster, 4, new Set([4])).every((s) => s === 'alive'), 10_000);
    await joined;
    expect(states(cluster, 4, new Set([4]))).toEqual(Array(9).fill('alive'));
    expect(tookMs).toBeLessThan(3_000);
    expect(restarted.members().filter((s) => s.state === 'alive')).toHaveLength(10);
  });

  it('after a partition heals, each side sees the other alive again without any operator action', () => {
    const cluster = new SimCluster({ nodes: 10, seed: 9 });
    cluster.runFor(2_000);
    const left = [0, 1, 2, 3, 4].map((i) => cluster.addressOf(i));
    const right = [5, 6, 7, 8, 9].map((i) => cluster.addressOf(i));
    cluster.network.partition(left, right);
    runUntil(cluster, () => cluster.members.every((m) => m.liveCount === 5), 120_000);
    expect(cluster.members.map((m) => m.liveCount)).toEqual(Array(10).fill(5));
    // Long enough that no news is left to gossip and gossip to the dead (30 s) has stopped.
    cluster.runFor(60_000);
    cluster.network.heal();
    const tookMs = runUntil(cluster, () => cluster.members.every((m) => m.liveCount === 10), 120_000);
    expect(cluster.members.map((m) => m.liveCount)).toEqual(Array(10).fill(10));
    // A sync with one down member per push-pull round (30 s here) is what reconnects the halves.
    expect(tookMs).toBeLessThanOrEqual(61_000);
  });

  it('a member that heard nothing for a minute, and so holds everyone down, is back in step both ways within seconds of hearing again', () => {
    const cluster = new SimCluster({ nodes: 10, seed: 14 });
    cluster.runFor(2_000);
    const m0 = cluster.addressOf(0);
    cluster.network.dropIf = (_from, to) => to === m0;
    runUntil(cluster, () => cluster.members[0]?.liveCount === 1, 120_000);
    runUntil(cluster, () => states(cluster, 0).every((s) => s === 'down'), 120_000);
    expect(states(cluster, 0)).toEqual(Array(9).fill('down'));
    cluster.network.dropIf = undefined;
    const tookMs = runUntil(cluster, () => cluster.members.every((m) => m.liveCount === 10), 60_000);
    expect(cluster.members.map((m) => m.liveCount)).toEqual(Array(10).fill(10));
    // Each member syncs with one member it holds down in every push-pull round (30 s here), so
    // between them the nine reach m0 within seconds; without that sync nobody would ever contact it.
    expect(tookMs).toBeLessThan(10_000);
  });

  it('does not suspect a member whose relayed ack arrived while this member was stalled (the late timer waits for it)', () => {
    const suspicions = (stallToleranceMs: number): number => {
      const cluster = new SimCluster({ nodes: 3, seed: 1, config: { stallToleranceMs } });
      const [m0, m1] = [cluster.addressOf(0), cluster.addressOf(1)];
      let paused = false;
      cluster.network.dropIf = (from, to, packet) => {
        const directPing = from === m0 && to === m1 && packet.body?.kind === 'ping';
        if (directPing && !paused) {
          // m0's direct pings to m1 are lost. At 500 ms m0 asks m2 to probe m1 and stalls just
          // after; m2's relayed ack arrives during the stall, which lasts past m0's probe
          // deadline (1 s). On waking, the deadline timer runs before the ack is read.
          paused = true;
          cluster.sim.after(500.5, () => cluster.endpoints[0]?.pause(600));
        }
        return directPing;
      };
      cluster.runFor(2_500);
      return cluster.members[0]?.counters().suspicionsRaised ?? -1;
    };
    expect(suspicions(50)).toBe(0);
    // The same stall with the wait turned off: the deadline fires before the ack is read.
    expect(suspicions(Number.MAX_SAFE_INTEGER)).toBe(1);
  });

  it('probing a crashed member leaves the prober healthy: nacks from the relays arrive before its deadline and clear it', () => {
    const cluster = new SimCluster({ nodes: 30, seed: 13 });
    cluster.runFor(2_000);
    cluster.crash(7);
    let worst = 0;
    for (let t = 0; t < 300; t++) {
      cluster.runFor(100);
      for (const [i, m] of cluster.members.entries()) if (i !== 7) worst = Math.max(worst, m.healthScore);
    }
    expect(cluster.total('probesFailed')).toBeGreaterThan(0);
    expect(worst).toBe(0);
  });

  it('a member cut off from all answers raises its local health score and slows its probing (Lifeguard)', () => {
    const cluster = new SimCluster({ nodes: 6, seed: 12 });
    cluster.runFor(2_000);
    const m0 = cluster.addressOf(0);
    cluster.network.dropIf = (_from, to) => to === m0;
    const before = cluster.members[0]?.counters().probes ?? 0;
    cluster.runFor(30_000);
    const member = cluster.members[0];
    expect(member?.healthScore).toBe(7);
    // Healthy, it would probe 30 times in 30 s; with the multiplier growing to 8 it probes far less.
    expect((member?.counters().probes ?? 0) - before).toBeLessThan(15);
  });
});
