/**
 * The proposer: single-decree Paxos for each next version of the cluster state. The claimant
 * runs it; any replica may (a replica that wrongly believes it is the claimant only slows things
 * down — Paxos keeps two proposers from choosing different values for one instance).
 */
import { type Clock, type Random } from '@quorumkv/gossip';
import { backoffDelay, type BackoffOptions } from '@quorumkv/service-kit';
import type { ClusterState } from '../cluster-state.js';
import { NoQuorumError } from '../errors.js';
import type { AcceptReply, PrepareReply } from './acceptor.js';
import { type Ballot, compareBallots } from './ballot.js';

/** How a proposer reaches the acceptors (its own replica's included). Calls may fail or never answer. */
export interface PeerTransport {
  /** Every acceptor; the first is this replica's own. */
  readonly peers: readonly string[];
  prepare(peer: string, instance: number, ballot: Ballot, base: ClusterState): Promise<PrepareReply>;
  accept(peer: string, instance: number, ballot: Ballot, value: ClusterState): Promise<AcceptReply>;
  decide(peer: string, state: ClusterState): Promise<void>;
}

/** The proposer's own replica: the last chosen state it knows, and how it learns a new one. */
export interface Learner {
  readonly decided: ClusterState;
  learn(state: ClusterState): Promise<void>;
}

/** How to build a {@link Proposer}. */
export interface ProposerOptions {
  /** This replica's id: the tie-breaker of its ballots. */
  readonly id: string;
  readonly transport: PeerTransport;
  readonly learner: Learner;
  readonly clock: Clock;
  readonly random: Random;
  /** How long one phase waits for a majority. @default 1000 */
  readonly phaseTimeoutMs?: number;
  /** Rounds tried before giving up with NoQuorumError. @default 8 */
  readonly maxAttempts?: number;
  /** Back-off between failed rounds (randomised, so duelling proposers fall out of step). @default 20 ms → 500 ms */
  readonly backoff?: BackoffOptions;
}

/** What a proposal ended with. */
export interface ProposalResult {
  /** The state this proposal chose, or undefined when `make` found nothing to change. */
  readonly chosen: ClusterState | undefined;
  /** The chosen state `make` was given last. */
  readonly base: ClusterState;
}

/** Builds the next state from the last chosen one; undefined when there is nothing to change; throws to refuse. */
export type MakeState = (base: ClusterState) => ClusterState | undefined;

/** Runs Paxos rounds until the state it makes is chosen as the next version. */
export class Proposer {
  private round = 0;
  private readonly majority: number;
  private readonly phaseTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoff: BackoffOptions;

  constructor(private readonly options: ProposerOptions) {
    this.majority = Math.floor(options.transport.peers.length / 2) + 1;
    this.phaseTimeoutMs = options.phaseTimeoutMs ?? 1_000;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.backoff = options.backoff ?? { initialMs: 20, maxMs: 500 };
  }

  /**
   * Chooses `make(base)` as the next version, where `base` is the last chosen state. If the
   * instance turns out to hold a value another proposer may have chosen, that value is completed
   * first and `make` runs again on top of it.
   * @throws NoQuorumError when no majority agrees within `maxAttempts` rounds; whatever `make` throws.
   */
  async propose(make: MakeState): Promise<ProposalResult> {
    const { transport, learner } = this.options;
    const peers = transport.peers;
    let failures = 0;
    let lastProblem = 'no answer';
    while (failures < this.maxAttempts) {
      const base = learner.decided;
      const instance = base.version + 1;
      const ballot: Ballot = { round: ++this.round, proposer: this.options.id };

      const prepared = await this.gather(peers.map((p) => transport.prepare(p, instance, ballot, base)), (r) => r.promised);
      const aheadP = newest(prepared.map((r) => r.decided));
      if (aheadP && aheadP.version >= instance) {
        // This replica was behind: learn what was chosen and start again from it.
        await learner.learn(aheadP);
        continue;
      }
      this.raiseRound(prepared.map((r) => r.promisedBallot));
      const promises = prepared.filter((r) => r.promised);
      if (promises.length < this.majority) {
        lastProblem = `${promises.length} promise(s) for instance ${instance}`;
        await this.pause(failures++);
        continue;
      }

      // Why: a value accepted under the highest ballot among the promises may already be chosen;
      // proposing anything else under a higher ballot could choose a second value for the instance.
      const previous = highestAccepted(promises);
      const value = previous ?? make(base);
      if (value === undefined) return { chosen: undefined, base };

      const accepted = await this.gather(peers.map((p) => transport.accept(p, instance, ballot, value)), (r) => r.accepted);
      const aheadA = newest(accepted.map((r) => r.decided));
      if (aheadA && aheadA.version >= instance) {
        await learner.learn(aheadA);
        continue;
      }
      this.raiseRound(accepted.map((r) => r.promisedBallot));
      if (accepted.filter((r) => r.accepted).length < this.majority) {
        lastProblem = `${accepted.filter((r) => r.accepted).length} acceptance(s) for instance ${instance}`;
        await this.pause(failures++);
        continue;
      }

      // Chosen: a majority accepted it durably.
      await learner.learn(value);
      for (const p of peers) transport.decide(p, value).catch(() => undefined);
      if (previous === undefined) return { chosen: value, base };
      // We completed someone else's value; now propose ours on top of it.
    }
    throw new NoQuorumError(peers.length, this.majority, lastProblem);
  }

  /** Replies gathered until `majority` are positive, every call settled, or the phase timed out. */
  private gather<T>(calls: readonly Promise<T>[], positive: (reply: T) => boolean): Promise<T[]> {
    return new Promise<T[]>((resolve) => {
      const replies: T[] = [];
      let settled = 0;
      let yes = 0;
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        timer.cancel();
        resolve([...replies]);
      };
      const timer = this.options.clock.setTimer(this.phaseTimeoutMs, finish);
      for (const call of calls) {
        call.then(
          (reply) => {
            if (done) return;
            replies.push(reply);
            if (positive(reply)) yes += 1;
            settled += 1;
            if (yes >= this.majority || settled === calls.length) finish();
          },
          () => {
            settled += 1;
            if (settled === calls.length) finish();
          },
        );
      }
      if (calls.length === 0) finish();
    });
  }

  private raiseRound(ballots: readonly (Ballot | undefined)[]): void {
    for (const b of ballots) if (b !== undefined && b.round > this.round) this.round = b.round;
  }

  private pause(attempt: number): Promise<void> {
    const delay = backoffDelay(attempt, this.backoff, () => this.options.random.next());
    return new Promise((resolve) => this.options.clock.setTimer(delay, resolve));
  }
}

function newest(states: readonly (ClusterState | undefined)[]): ClusterState | undefined {
  let best: ClusterState | undefined;
  for (const s of states) if (s !== undefined && (best === undefined || s.version > best.version)) best = s;
  return best;
}

function highestAccepted(promises: readonly PrepareReply[]): ClusterState | undefined {
  let best: { ballot: Ballot; value: ClusterState } | undefined;
  for (const p of promises) {
    if (p.accepted !== undefined && (best === undefined || compareBallots(p.accepted.ballot, best.ballot) > 0)) best = p.accepted;
  }
  return best?.value;
}
