import { DeadlineExceededError } from '@quorumkv/service-kit';
import { QuorumNotReachedError, ReplicaTimeoutError, failureReason, type ReplicaFailure } from './errors.js';
import type { TimerHandle, Timers } from './timers.js';

/** A request sent to one replica: which node, and the promise of its answer. */
export interface ReplicaAttempt<T> {
  readonly node: string;
  readonly result: Promise<T>;
}

/** An answer that counted. */
export interface ReplicaAnswer<T> {
  readonly node: string;
  readonly value: T;
}

/** What the wait saw when it succeeded: the first `needed` answers and the failures before them. */
export interface QuorumOutcome<T> {
  readonly answers: readonly ReplicaAnswer<T>[];
  readonly failures: readonly ReplicaFailure[];
}

/** How long to wait and for how many. */
export interface QuorumWaitOptions {
  /** Answers needed from `attempts` (0 resolves at once). */
  readonly needed: number;
  /** The client call's absolute deadline (ms since epoch, or Infinity): past it, DEADLINE_EXCEEDED. */
  readonly callDeadlineMs: number;
  /** Absolute time after which a replica that has not answered counts as a miss. */
  readonly replicaDeadlineMs: number;
  readonly timers: Timers;
  /**
   * Replicas already counted by an earlier phase (a write's minting replica): they add to the
   * counts in a quorum error so the message describes the whole operation.
   */
  readonly prior?: { readonly answered: number };
  /** Replicas the whole operation asked, for the message. @default attempts + prior answered */
  readonly asked?: number;
  /** What the wait was for, for the deadline message ("writing key", "reading key"). */
  readonly what: string;
}

/**
 * Waits until `needed` of the attempts answer. Settles as early as the outcome is known:
 *
 * - resolves with the first `needed` answers;
 * - rejects with {@link QuorumNotReachedError} once so many attempts failed that `needed` can no
 *   longer be reached and every other attempt has settled (a broken stream does not wait for
 *   the replica deadline), or when the replica deadline passes first (the silent replicas count
 *   as `deadline` misses);
 * - rejects with `DeadlineExceededError` when the client's deadline passes first.
 *
 * Why wait for the other attempts once the quorum is impossible: the error reports how many
 * replicas answered, and a count taken the moment the first failure arrived would say "0 of 3
 * answered" while two live replicas were a millisecond from answering. The live ones answer
 * within the replica deadline, which still bounds the wait.
 *
 * Attempts that settle later are left to the caller (read repair watches late answers); every
 * attempt gets a rejection handler here, so a late failure is never an unhandled rejection.
 * One timer per wait, not one per replica: the wait is on the hot path.
 */
export function awaitQuorum<T>(attempts: readonly ReplicaAttempt<T>[], options: QuorumWaitOptions): Promise<QuorumOutcome<T>> {
  const { needed, timers } = options;
  const prior = options.prior?.answered ?? 0;
  const asked = options.asked ?? attempts.length + prior;
  const answers: ReplicaAnswer<T>[] = [];
  const failures: ReplicaFailure[] = [];
  const answered = new Set<number>();
  let settled = false;
  let timer: TimerHandle | undefined;
  let done: ((outcome: QuorumOutcome<T>) => void) | undefined;
  let fail: ((err: Error) => void) | undefined;

  const finish = (): void => {
    settled = true;
    if (timer !== undefined) timers.clearTimeout(timer);
  };
  const notReached = (extra: readonly ReplicaFailure[]): QuorumNotReachedError =>
    new QuorumNotReachedError(needed + prior, answers.length + prior, asked, [...failures, ...extra]);
  // The quorum is out of reach (too many failures) and nothing is pending: fail with exact counts.
  const failIfHopeless = (): void => {
    if (answered.size === attempts.length && answers.length < needed) {
      finish();
      fail?.(notReached([]));
    }
  };

  // Handlers go on every attempt before anything else, so that one settling after the wait is
  // over (or when nothing was needed) is never an unhandled rejection.
  attempts.forEach((attempt, index) => {
    attempt.result.then(
      (value) => {
        if (settled) return;
        answered.add(index);
        answers.push({ node: attempt.node, value });
        if (answers.length >= needed) {
          finish();
          done?.({ answers, failures });
        } else failIfHopeless();
      },
      (err: unknown) => {
        if (settled) return;
        answered.add(index);
        failures.push({ node: attempt.node, reason: failureReason(err) });
        failIfHopeless();
      },
    );
  });
  if (needed <= 0) {
    settled = true;
    return Promise.resolve({ answers, failures });
  }

  return new Promise<QuorumOutcome<T>>((resolve, reject) => {
    done = resolve;
    fail = reject;
    if (attempts.length === 0) {
      settled = true;
      reject(notReached([]));
      return;
    }
    const clientFirst = options.callDeadlineMs <= options.replicaDeadlineMs;
    const at = Math.min(options.callDeadlineMs, options.replicaDeadlineMs);
    if (!Number.isFinite(at)) return;
    timer = timers.setTimeout(
      () => {
        if (settled) return;
        settled = true;
        if (clientFirst) {
          reject(new DeadlineExceededError(`${options.what}: ${answers.length + prior} of ${needed + prior} needed replicas answered`));
          return;
        }
        const silent: ReplicaFailure[] = [];
        attempts.forEach((attempt, index) => {
          if (!answered.has(index)) silent.push({ node: attempt.node, reason: 'deadline' });
        });
        reject(notReached(silent));
      },
      Math.max(0, at - timers.now()),
    );
  });
}

/**
 * Races one replica request against the deadlines, keeping its own error when it fails first
 * (the write path needs to tell a sibling-limit refusal from a dead node).
 * @throws DeadlineExceededError when the client's deadline passes first, ReplicaTimeoutError
 *   when the replica deadline does.
 */
export function withDeadlines<T>(
  node: string,
  result: Promise<T>,
  options: Pick<QuorumWaitOptions, 'callDeadlineMs' | 'replicaDeadlineMs' | 'timers' | 'what'>,
): Promise<T> {
  const at = Math.min(options.callDeadlineMs, options.replicaDeadlineMs);
  if (!Number.isFinite(at)) return result;
  const { timers } = options;
  return new Promise<T>((resolve, reject) => {
    const timer = timers.setTimeout(() => {
      reject(
        options.callDeadlineMs <= options.replicaDeadlineMs
          ? new DeadlineExceededError(`${options.what}: waiting for ${node}`)
          : new ReplicaTimeoutError(node),
      );
    }, Math.max(0, at - timers.now()));
    result.then(
      (v) => {
        timers.clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        timers.clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Replicas needed for a level: ONE, QUORUM (floor(N/2)+1), ALL; an explicit count wins. */
export function quorumSize(n: number): number {
  return Math.floor(n / 2) + 1;
}
