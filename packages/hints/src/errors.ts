/** `nats-server` is not installed (or not on PATH). */
export class NatsServerMissingError extends Error {
  override readonly name = 'NatsServerMissingError';
  constructor(readonly command: string) {
    super(`${command} is not installed: run scripts/install-deps.sh (Debian package nats-server) to get hinted handoff`);
  }
}

/** `nats-server` did not come up. */
export class NatsServerStartError extends Error {
  override readonly name = 'NatsServerStartError';
  constructor(
    readonly reason: string,
    readonly output: string,
  ) {
    super(`nats-server did not start: ${reason}${output ? `\n--- last output of nats-server ---\n${output}` : ''}`);
  }
}

/** JetStream did not take a hint (NATS down, stream full, timeout): the write cannot count on it. */
export class HintNotStoredError extends Error {
  override readonly name = 'HintNotStoredError';
  constructor(
    readonly intendedNode: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`hint for ${intendedNode} not stored in JetStream: ${detail}`, options);
  }
}

/** A message in the hint stream that is not a hint (it is terminated, never retried). */
export class MalformedHintError extends Error {
  override readonly name = 'MalformedHintError';
  constructor(readonly detail: string) {
    super(`malformed hint: ${detail}`);
  }
}
