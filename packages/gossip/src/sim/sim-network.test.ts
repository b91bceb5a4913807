import { describe, expect, it } from 'vitest';
import type { GossipPacket } from '../messages.js';
import { seededRandom } from '../random.js';
import { SimNetwork } from './sim-network.js';
import { Simulator } from './simulator.js';

const packet = (n: number): GossipPacket => ({ from: 'a', fromAddress: 'a', body: { kind: 'ack', seq: n }, updates: [] });
const seqOf = (p: GossipPacket): number => (p.body?.kind === 'ack' ? p.body.seq : -1);

function pair(lossRate = 0): { sim: Simulator; net: SimNetwork; got: string[] } {
  const sim = new Simulator();
  const net = new SimNetwork(sim, { random: seededRandom(7), lossRate, latencyMs: { min: 1, max: 1 } });
  const got: string[] = [];
  net.endpoint('b').transport.listen((p) => got.push(`packet ${seqOf(p)} at ${sim.now}`));
  return { sim, net, got };
}

describe('SimNetwork', () => {
  it('a paused process runs nothing until the pause ends, then its due timers before its packets, each in order', () => {
    const { sim, net, got } = pair();
    const a = net.endpoint('a');
    const b = net.endpoint('b');
    b.clock.setTimer(5, () => got.push(`timer 1 at ${sim.now}`));
    b.clock.setTimer(6, () => got.push(`timer 2 at ${sim.now}`));
    b.pause(10);
    a.transport.send('b', packet(1));
    a.transport.send('b', packet(2));
    sim.runUntil(20);
    expect(got).toEqual(['timer 1 at 10', 'timer 2 at 10', 'packet 1 at 10', 'packet 2 at 10']);
    expect(b.loopDelay()).toBe(10);
    expect(b.loopDelay()).toBe(0);
  });

  it('delivers after the latency, drops across a partition and to or from a crashed process, and loses about the loss rate', () => {
    const { sim, net, got } = pair();
    const a = net.endpoint('a');
    a.transport.send('b', packet(1));
    sim.runUntil(0.5);
    expect(got).toEqual([]);
    sim.runUntil(1);
    expect(got).toEqual(['packet 1 at 1']);
    net.partition(['a'], ['b']);
    a.transport.send('b', packet(2));
    net.heal();
    net.crash('b');
    a.transport.send('b', packet(3));
    sim.runUntil(10);
    expect(got).toEqual(['packet 1 at 1']);

    const lossy = pair(0.05);
    const from = lossy.net.endpoint('a');
    for (let i = 0; i < 20_000; i++) from.transport.send('b', packet(i));
    lossy.sim.runUntil(10);
    expect(lossy.net.stats.lost / 20_000).toBeCloseTo(0.05, 2);
    expect(lossy.got.length + lossy.net.stats.lost).toBe(20_000);
  });
});
