/**
 * Paxos ballots: ordered by round, then by proposer id. Ids are unique among membership replicas,
 * so two proposers never use the same ballot, and any ballot can be beaten by a higher round.
 */
export interface Ballot {
  readonly round: number;
  readonly proposer: string;
}

/** Negative when `a` is lower than `b`, 0 when equal, positive when higher. */
export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.round !== b.round) return a.round - b.round;
  return a.proposer < b.proposer ? -1 : a.proposer > b.proposer ? 1 : 0;
}

/** A ballot as text, for logs. */
export function ballotText(b: Ballot | undefined): string {
  return b === undefined ? '-' : `${b.round}.${b.proposer}`;
}
