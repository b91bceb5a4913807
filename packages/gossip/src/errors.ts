/** A protocol setting the library cannot run with. */
export class GossipConfigError extends Error {
  override readonly name = 'GossipConfigError';
  constructor(
    readonly setting: string,
    readonly problem: string,
  ) {
    super(`gossip setting ${setting} ${problem}`);
  }
}

/** Member identity, address, metadata or payload the library refuses (empty, too large, not increasing). */
export class MemberDataError extends Error {
  override readonly name = 'MemberDataError';
  constructor(
    readonly field: 'id' | 'address' | 'meta' | 'payload.version' | 'payload.data',
    readonly problem: string,
  ) {
    super(`member ${field} ${problem}`);
  }
}

/** `join` heard from none of the seeds in time. */
export class JoinError extends Error {
  override readonly name = 'JoinError';
  constructor(
    readonly seeds: readonly string[],
    readonly waitedMs: number,
  ) {
    super(`no seed answered within ${waitedMs} ms: ${seeds.join(', ')}`);
  }
}

/** An operation on a member that is not running (not started, stopped, or left). */
export class GossipStoppedError extends Error {
  override readonly name = 'GossipStoppedError';
  constructor(readonly operation: string) {
    super(`gossip member is not running: cannot ${operation}`);
  }
}
