/**
 * Safety of the membership replicas' Paxos: whatever the network does — loss, duplication,
 * reordering, arbitrary delays, timeouts firing early or late — two claimants proposing at the
 * same time never get different states chosen for one version, and so never two rings under one
 * epoch. The schedule is chosen by fast-check, so a failure shrinks to a minimal interleaving.
 */
import type { Clock, Timer } from '@quorumkv/gossip';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ClusterState, initialState, sameState } from '../cluster-state.js';
import { Acceptor, type AcceptorRecord, type AcceptReply, type PrepareReply } from './acceptor.js';
import type { Ballot } from './ballot.js';
import { type PeerTransport, Proposer } from './proposer.js';

type Fate = 'deliver' | 'drop' | 'duplicate';

interface Task {
  readonly kind: 'message' | 'timer';
  readonly at: number;
  run(): void;
  cancelled?: boolean;
}

/** A network and a clock driven by a schedule: each step runs one pending task, picked by the schedule. */
class World {
  now = 0;
  tasks: Task[] = [];
  readonly clock: Clock = {
    now: () => this.now,
    setTimer: (delayMs: number, fn: () => void): Timer => {
      const task: Task = { kind: 'timer', at: this.now + delayMs, run: fn };
      this.tasks.push(task);
      return { cancel: () => (task.cancelled = true) };
    },
  };

  /** Sends `call` to its destination as a message; its answer travels back as another message. */
  send<T>(call: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve) => {
      this.tasks.push({
        kind: 'message',
        at: this.now,
        run: () => {
          void call().then((reply) => this.tasks.push({ kind: 'message', at: this.now, run: () => resolve(reply) }));
        },
      });
    });
  }

  /**
   * Runs one task picked by `pick`, with a fate for messages. With `timersLast`, a timer runs only
   * when no message is in flight (a network that delivers in time). Returns false when nothing is left.
   */
  async step(pick: number, fate: Fate, timersLast = false): Promise<boolean> {
    this.tasks = this.tasks.filter((t) => !t.cancelled);
    if (this.tasks.length === 0) return false;
    const messages = this.tasks.filter((t) => t.kind === 'message');
    const pool = timersLast && messages.length > 0 ? messages : this.tasks;
    const task = pool[pick % pool.length]!;
    const index = this.tasks.indexOf(task);
    if (task.kind === 'message' && fate === 'duplicate') this.tasks.push({ ...task });
    this.tasks.splice(index, 1);
    if (task.kind === 'timer') this.now = Math.max(this.now, task.at);
    if (task.kind === 'timer' || fate !== 'drop') task.run();
    // Let every promise the task settled run its continuations before the next step.
    await new Promise((resolve) => setImmediate(resolve));
    return true;
  }
}

/** An acceptor that records every value it accepts, with the ballot, for the chosen-value check. */
class RecordingStore {
  readonly accepts: { instance: number; ballot: Ballot; value: ClusterState }[] = [];
  save(record: AcceptorRecord): Promise<void> {
    if (record.accepted) this.accepts.push({ instance: record.accepted.value.version, ballot: record.accepted.ballot, value: record.accepted.value });
    return Promise.resolve();
  }
}

function addMember(id: string) {
  return (base: ClusterState): ClusterState => ({
    ...base,
    version: base.version + 1,
    // The value depends on the base: a proposer with a stale base makes a different ring.
    ring: { ...base.ring, epoch: base.ring.epoch + 1, members: [...base.ring.members, { id, address: `10.0.0.${base.ring.members.length + 1}:7101`, state: 'normal' }] },
  });
}

interface Cluster {
  readonly world: World;
  readonly acceptors: Map<string, Acceptor>;
  readonly stores: Map<string, RecordingStore>;
  readonly learned: Map<string, ClusterState[]>;
  proposer(id: string): Proposer;
}

function cluster(names: readonly string[]): Cluster {
  const world = new World();
  const acceptors = new Map<string, Acceptor>();
  const stores = new Map<string, RecordingStore>();
  const learned = new Map<string, ClusterState[]>();
  for (const n of names) {
    const store = new RecordingStore();
    const acceptor = new Acceptor({ decided: initialState(3, 8), promised: undefined, accepted: undefined }, store);
    acceptor.onLearn((s) => learned.set(n, [...(learned.get(n) ?? []), s]));
    acceptors.set(n, acceptor);
    stores.set(n, store);
  }
  const transport: PeerTransport = {
    peers: names,
    prepare: (peer, instance, ballot, base) => world.send<PrepareReply>(() => acceptors.get(peer)!.prepare(instance, ballot, structuredClone(base))),
    accept: (peer, instance, ballot, value) => world.send<AcceptReply>(() => acceptors.get(peer)!.accept(instance, ballot, structuredClone(value))),
    decide: (peer, state) => world.send(() => acceptors.get(peer)!.learn(structuredClone(state))),
  };
  let seed = 1;
  return {
    world,
    acceptors,
    stores,
    learned,
    proposer: (id) =>
      new Proposer({
        id,
        transport,
        learner: acceptors.get(id)!,
        clock: world.clock,
        random: { next: () => ((seed = (seed * 48271) % 2147483647) / 2147483647) },
        phaseTimeoutMs: 100,
        maxAttempts: 6,
        backoff: { initialMs: 10, maxMs: 80 },
      }),
  };
}

/** Every value a majority accepted under one ballot, per instance: what Paxos chose. */
function chosenByMajority(c: Cluster, majority: number): Map<number, ClusterState[]> {
  const votes = new Map<string, { value: ClusterState; voters: Set<string> }>();
  for (const [name, store] of c.stores) {
    for (const a of store.accepts) {
      const key = `${a.instance}/${a.ballot.round}.${a.ballot.proposer}`;
      const entry = votes.get(key) ?? { value: a.value, voters: new Set<string>() };
      entry.voters.add(name);
      votes.set(key, entry);
    }
  }
  const out = new Map<number, ClusterState[]>();
  for (const { value, voters } of votes.values()) {
    if (voters.size >= majority) out.set(value.version, [...(out.get(value.version) ?? []), value]);
  }
  return out;
}

function expectOneValuePerVersionAndEpoch(states: readonly ClusterState[]): void {
  const byVersion = new Map<number, ClusterState>();
  const byEpoch = new Map<number, string>();
  for (const s of states) {
    const seen = byVersion.get(s.version);
    if (seen) expect(sameState(seen, s), `two states chosen for version ${s.version}`).toBe(true);
    else byVersion.set(s.version, s);
    const ring = JSON.stringify(s.ring);
    const known = byEpoch.get(s.ring.epoch);
    if (known !== undefined) expect(ring, `two rings under epoch ${s.ring.epoch}`).toBe(known);
    else byEpoch.set(s.ring.epoch, ring);
  }
}

const schedule = fc.array(fc.tuple(fc.nat(), fc.constantFrom<Fate>('deliver', 'deliver', 'deliver', 'drop', 'duplicate')), { minLength: 50, maxLength: 600 });

describe('membership Paxos', () => {
  it('two claimants proposing at once never choose different states for a version, nor different rings for an epoch (loss, duplication, reordering)', async () => {
    let runs = 0;
    let runsWithChoices = 0;
    await fc.assert(
      fc.asyncProperty(schedule, fc.constantFrom(3, 5), async (steps, size) => {
        const names = ['m1', 'm2', 'm3', 'm4', 'm5'].slice(0, size);
        const c = cluster(names);
        const results: ClusterState[] = [];
        const run = async (proposerId: string, ids: string[]): Promise<void> => {
          const p = c.proposer(proposerId);
          for (const id of ids) {
            const r = await p.propose(addMember(id)).catch(() => undefined);
            if (r?.chosen) results.push(r.chosen);
          }
        };
        const a = run('m1', ['a1', 'a2']);
        const b = run('m2', ['b1', 'b2']);
        for (const [pick, fate] of steps) if (!(await c.world.step(pick, fate))) break;
        // Let the rest play out without loss, so both runs end.
        for (let i = 0; i < 5_000 && (await c.world.step(i, 'deliver', true)); i++);
        await Promise.all([a, b]);
        runs += 1;
        if (results.length > 0) runsWithChoices += 1;

        const majority = Math.floor(size / 2) + 1;
        const chosen = chosenByMajority(c, majority);
        for (const [version, values] of chosen) {
          for (const v of values) expect(sameState(v, values[0]!), `version ${version}`).toBe(true);
        }
        const learned = [...c.learned.values()].flat();
        expectOneValuePerVersionAndEpoch([...results, ...learned, ...[...chosen.values()].flat()]);
        // A state a proposer was told is chosen is the one a majority accepted.
        for (const r of results) expect(chosen.get(r.version)?.some((v) => sameState(v, r))).toBe(true);
      }),
      { numRuns: 150 },
    );
    // Not vacuous: most schedules get changes chosen despite what the network did to them.
    expect(runsWithChoices).toBeGreaterThan(runs / 2);
  });

  it('without loss both claimants get their change chosen, one after the other, each on top of the other', async () => {
    const c = cluster(['m1', 'm2', 'm3']);
    const p1 = c.proposer('m1');
    const p2 = c.proposer('m2');
    const r1 = p1.propose(addMember('x'));
    const r2 = p2.propose(addMember('y'));
    let pick = 0;
    while (await c.world.step(pick++ * 7, 'deliver', true));
    const [a, b] = await Promise.all([r1, r2]);
    expect([a.chosen?.version, b.chosen?.version].sort()).toEqual([1, 2]);
    const last = [a.chosen!, b.chosen!].find((s) => s.version === 2)!;
    expect(last.ring.members.map((m) => m.id).sort()).toEqual(['x', 'y']);
    expect(last.ring.epoch).toBe(2);
  });

  it('a proposer behind the others learns the chosen state from their answers and builds on it', async () => {
    const c = cluster(['m1', 'm2', 'm3']);
    const first = c.proposer('m1').propose(addMember('x'));
    // Every message reaches m1 and m2; m3 hears nothing until version 1 is chosen (its Decide is lost too).
    const m3 = c.acceptors.get('m3')!;
    const original = m3.prepare.bind(m3);
    let m3Deaf = true;
    m3.prepare = (...args) => (m3Deaf ? new Promise<never>(() => undefined) : original(...args));
    const acceptOriginal = m3.accept.bind(m3);
    m3.accept = (...args) => (m3Deaf ? new Promise<never>(() => undefined) : acceptOriginal(...args));
    const learnOriginal = m3.learn.bind(m3);
    m3.learn = (...args) => (m3Deaf ? Promise.resolve() : learnOriginal(...args));
    for (let i = 0; await c.world.step(i, 'deliver', true); i++);
    await first;
    m3Deaf = false;
    expect(m3.decided.version).toBe(0);
    const late = c.proposer('m3').propose(addMember('y'));
    for (let i = 0; await c.world.step(i, 'deliver', true); i++);
    const r = await late;
    expect(r.chosen?.version).toBe(2);
    expect(r.chosen?.ring.members.map((m) => m.id)).toEqual(['x', 'y']);
  });

  it('gives up with NoQuorumError when no majority answers, having chosen nothing', async () => {
    const c = cluster(['m1', 'm2', 'm3']);
    const p = c.proposer('m1').propose(addMember('x'));
    // Every message to or from m2 and m3 is lost; m1 alone is no majority.
    let outcome: unknown;
    void p.then(
      () => (outcome = 'chosen'),
      (err: unknown) => (outcome = err),
    );
    for (let i = 0; i < 10_000 && outcome === undefined; i++) {
      const tasks = c.world.tasks.filter((t) => !t.cancelled);
      if (tasks.length === 0) break;
      // Drop messages while any are pending, so only m1's local answers would get through — but the
      // world does not know addresses, so drop every message: nothing reaches a majority.
      await c.world.step(0, tasks[0]!.kind === 'message' ? 'drop' : 'deliver');
    }
    expect(outcome).toMatchObject({ name: 'NoQuorumError' });
    expect(c.acceptors.get('m1')!.decided.version).toBe(0);
  });
});
