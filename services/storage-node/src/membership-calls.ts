/**
 * The storage node's calls to the membership service: `Join` (auto-join, retried until the ring
 * takes it) and `ReportTransfers`. Each call goes to one seed; a seed that does not answer passes
 * the call to the next (any membership replica forwards changes to the claimant).
 */
import { type ChannelCredentials, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { retryDelay, WATCH_CHANNEL_OPTIONS } from '@quorumkv/cluster-view';
import { membership } from '@quorumkv/proto';
import type { Logger } from '@quorumkv/service-kit';

type Callback<R> = (err: ServiceError | null, res: R) => void;

/** Clients of the membership seeds. */
export class MembershipCalls {
  private readonly clients: membership.MembershipServiceClient[];
  private next = 0;

  /** @param channelCredentials with TLS: this node's certificate, accepting only the membership service. */
  constructor(seeds: readonly string[], channelCredentials: ChannelCredentials = credentials.createInsecure()) {
    this.clients = seeds.map((s) => new membership.MembershipServiceClient(s, channelCredentials, WATCH_CHANNEL_OPTIONS));
  }

  /** `ReportTransfers` on one seed after another until one answers. */
  report(report: membership.TransferReport, timeoutMs = 2_000): Promise<void> {
    return this.onAnySeed((c, md, opts, cb) => c.reportTransfers(report, md, opts, cb), timeoutMs).then(() => undefined);
  }

  /** `Join` on one seed after another until one answers (the answer may be an error status). */
  join(request: membership.JoinRequest, timeoutMs = 5_000): Promise<membership.ChangeResponse> {
    return this.onAnySeed((c, md, opts, cb) => c.join(request, md, opts, cb), timeoutMs);
  }

  close(): void {
    for (const c of this.clients) c.close();
  }

  private async onAnySeed<R>(
    call: (c: membership.MembershipServiceClient, md: Metadata, opts: { deadline: number }, cb: Callback<R>) => void,
    timeoutMs: number,
  ): Promise<R> {
    let last: unknown = new Error('no membership seeds configured');
    for (let i = 0; i < this.clients.length; i++) {
      const client = this.clients[this.next % this.clients.length] as membership.MembershipServiceClient;
      try {
        return await new Promise<R>((resolve, reject) => {
          call(client, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
        });
      } catch (err) {
        last = err;
        const code = (err as ServiceError).code;
        // Only an unreachable or overloaded seed passes the call on; any other answer is the answer.
        if (code !== status.UNAVAILABLE && code !== status.DEADLINE_EXCEEDED) throw err;
        this.next += 1;
      }
    }
    throw last;
  }
}

/** What {@link autoJoin} needs. */
export interface AutoJoinOptions {
  readonly calls: Pick<MembershipCalls, 'join'>;
  readonly request: membership.JoinRequest;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
}

/**
 * Joins the ring like Cassandra's auto-bootstrap, retrying with back-off while the membership
 * service is unreachable or busy with another change (FAILED_PRECONDITION: one change at a time).
 * Idempotent on restart: a node already in the ring at the same address gets the current epoch
 * back. Gives up on ALREADY_EXISTS (the id is taken by another address) and on bad input.
 * Resolves with the answer, or undefined when it gave up or was aborted.
 */
export async function autoJoin(options: AutoJoinOptions): Promise<membership.ChangeResponse | undefined> {
  const { calls, request, logger, signal } = options;
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      const res = await calls.join(request);
      logger.info({ epoch: res.epoch.toString(), message: res.message }, 'joined the ring');
      return res;
    } catch (err) {
      const code = (err as ServiceError).code;
      if (code === status.ALREADY_EXISTS || code === status.INVALID_ARGUMENT || code === status.PERMISSION_DENIED) {
        logger.error({ err: (err as Error).message, code }, 'the membership service refused this node: not joining (fix the id or address, or join by hand)');
        return undefined;
      }
      const delay = retryDelay(attempt, { initialMs: 200, maxMs: 5_000 }, options.random ?? Math.random);
      const level = attempt === 0 || attempt % 10 === 0 ? 'warn' : 'debug';
      logger[level]({ err: (err as Error).message, code, retryInMs: delay }, 'join not accepted yet: retrying');
      await options.sleep(delay, signal).catch(() => undefined);
    }
  }
  return undefined;
}
