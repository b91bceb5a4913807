/**
 * The acceptor (and learner) of the membership replicas' Paxos. It takes part in one instance at
 * a time — the one after the last state it knows was chosen — and persists every promise, every
 * accepted value and every chosen state before it answers: a replica that crashes and restarts
 * keeps its word, which is what makes two claimants unable to choose different states.
 */
import type { ClusterState } from '../cluster-state.js';
import { type Ballot, compareBallots } from './ballot.js';

/** What an acceptor keeps on disk. */
export interface AcceptorRecord {
  /** The last state it knows was chosen (instance `decided.version`). */
  readonly decided: ClusterState;
  /** The highest ballot promised in instance `decided.version + 1`. */
  readonly promised: Ballot | undefined;
  /** What it accepted in instance `decided.version + 1`, under which ballot. */
  readonly accepted: { readonly ballot: Ballot; readonly value: ClusterState } | undefined;
}

/** Durable storage of an acceptor's record: `save` resolves only once the record is on disk (fsync). */
export interface AcceptorStore {
  save(record: AcceptorRecord): Promise<void>;
}

/** An acceptor's answer to Prepare. */
export interface PrepareReply {
  readonly promised: boolean;
  readonly promisedBallot: Ballot | undefined;
  readonly accepted: { readonly ballot: Ballot; readonly value: ClusterState } | undefined;
  /** Set when the acceptor knows a state chosen at or after the instance asked about. */
  readonly decided: ClusterState | undefined;
}

/** An acceptor's answer to Accept. */
export interface AcceptReply {
  readonly accepted: boolean;
  readonly promisedBallot: Ballot | undefined;
  readonly decided: ClusterState | undefined;
}

/** One replica's acceptor; operations run one at a time, each saved before it answers. */
export class Acceptor {
  private record: AcceptorRecord;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly learnListeners = new Set<(state: ClusterState) => void>();

  constructor(
    initial: AcceptorRecord,
    private readonly store: AcceptorStore,
  ) {
    this.record = initial;
  }

  /** The last state this replica knows was chosen. */
  get decided(): ClusterState {
    return this.record.decided;
  }

  /** The whole record (for tests and status). */
  get current(): AcceptorRecord {
    return this.record;
  }

  /** Calls `listener` with each newly chosen state this replica learns; returns the unsubscribe function. */
  onLearn(listener: (state: ClusterState) => void): () => void {
    this.learnListeners.add(listener);
    return () => this.learnListeners.delete(listener);
  }

  /**
   * Phase 1. `base` is the state chosen at `instance - 1` (the proposer knows it was chosen): an
   * acceptor behind it learns it first, so that it can take part in `instance`.
   */
  prepare(instance: number, ballot: Ballot, base: ClusterState | undefined): Promise<PrepareReply> {
    return this.serially(async () => {
      if (base !== undefined && base.version === instance - 1) await this.adopt(base);
      const { decided, promised, accepted } = this.record;
      if (instance <= decided.version) return { promised: false, promisedBallot: undefined, accepted: undefined, decided };
      if (instance > decided.version + 1) return { promised: false, promisedBallot: promised, accepted: undefined, decided: undefined };
      if (promised !== undefined && compareBallots(ballot, promised) < 0) {
        return { promised: false, promisedBallot: promised, accepted: undefined, decided: undefined };
      }
      await this.persist({ decided, promised: ballot, accepted });
      return { promised: true, promisedBallot: ballot, accepted, decided: undefined };
    });
  }

  /** Phase 2: accepts `value` for `instance` unless it promised a higher ballot. */
  accept(instance: number, ballot: Ballot, value: ClusterState): Promise<AcceptReply> {
    return this.serially(async () => {
      const { decided, promised } = this.record;
      if (instance <= decided.version) return { accepted: false, promisedBallot: undefined, decided };
      if (instance > decided.version + 1 || value.version !== instance) return { accepted: false, promisedBallot: promised, decided: undefined };
      if (promised !== undefined && compareBallots(ballot, promised) < 0) return { accepted: false, promisedBallot: promised, decided: undefined };
      await this.persist({ decided, promised: ballot, accepted: { ballot, value } });
      return { accepted: true, promisedBallot: ballot, decided: undefined };
    });
  }

  /** Learns a chosen state (an older or equal one changes nothing). */
  learn(state: ClusterState): Promise<void> {
    return this.serially(() => this.adopt(state));
  }

  private async adopt(state: ClusterState): Promise<void> {
    if (state.version <= this.record.decided.version) return;
    // The promise and the accepted value were for this instance (or an older one): it is decided now.
    await this.persist({ decided: state, promised: undefined, accepted: undefined });
    for (const listener of [...this.learnListeners]) listener(state);
  }

  private async persist(record: AcceptorRecord): Promise<void> {
    // On disk first: an answer must never promise more than a restart would remember.
    await this.store.save(record);
    this.record = record;
  }

  private serially<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
