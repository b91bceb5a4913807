/**
 * Where a command runs: on this replica when it is the claimant, else forwarded once to the
 * replica that is. A forwarded call carries `x-quorumkv-forwarded` and always runs where it lands
 * (two replicas that disagree about who is claimant must not bounce a call between them; Paxos
 * keeps both proposing safe).
 */
import { type ChannelCredentials, credentials, Metadata, type ServerUnaryCall, type ServiceError as GrpcError, status } from '@grpc/grpc-js';
import type { GossipMember } from '@quorumkv/gossip';
import { membership } from '@quorumkv/proto';
import { ServiceError } from '@quorumkv/service-kit';
import { ClaimantUnreachableError } from './errors.js';
import { claimantOf } from './members.js';

const FORWARDED = 'x-quorumkv-forwarded';

/** The claimant as this replica sees it. */
export interface Claimant {
  readonly id: string;
  readonly address: string;
  readonly self: boolean;
}

export type ForwardableMethod = 'join' | 'leave' | 'remove' | 'transfers' | 'setThrottle' | 'reportTransfers';

/** What a generated method definition gives a generic unary call. */
interface UnaryDefinition<Req, Res> {
  readonly path: string;
  readonly requestSerialize: (value: Req) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => Res;
}

/** Decides where commands run and forwards them. */
export class ClaimantRouter {
  private readonly clients = new Map<string, membership.MembershipServiceClient>();

  constructor(
    private readonly selfId: string,
    private readonly gossip: () => GossipMember | undefined,
    private readonly forwardTimeoutMs: number,
    /** With TLS: this replica's certificate, accepting only a membership replica. @default insecure */
    private readonly channelCredentials: ChannelCredentials = credentials.createInsecure(),
  ) {}

  /** The claimant now: the lowest-id live membership replica (this one when gossip knows no other). */
  claimant(): Claimant {
    const member = this.gossip();
    const best = member ? claimantOf(member.members()) : undefined;
    if (!best || best.id === this.selfId) return { id: this.selfId, address: '', self: true };
    return { id: best.id, address: best.address, self: false };
  }

  /** Where `call` must run: undefined for here, else the claimant to forward it to. */
  route(call: Pick<ServerUnaryCall<unknown, unknown>, 'metadata'>): Claimant | undefined {
    if (call.metadata.get(FORWARDED).length > 0) return undefined;
    const c = this.claimant();
    return c.self ? undefined : c;
  }

  /**
   * Calls `method` on the claimant and returns its answer; its refusals come back with their own
   * status and message.
   * @throws ClaimantUnreachableError when it does not answer.
   */
  forward<Req, Res>(to: Claimant, method: ForwardableMethod, request: Req, deadline: number): Promise<Res> {
    let client = this.clients.get(to.address);
    if (!client) {
      client = new membership.MembershipServiceClient(to.address, this.channelCredentials, { 'grpc.max_reconnect_backoff_ms': 1_000 });
      this.clients.set(to.address, client);
    }
    const md = new Metadata();
    md.set(FORWARDED, this.selfId);
    const def = membership.MembershipServiceService[method] as unknown as UnaryDefinition<Req, Res>;
    const c = client;
    const until = Number.isFinite(deadline) ? deadline : Date.now() + this.forwardTimeoutMs;
    return new Promise<Res>((resolve, reject) => {
      c.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, md, { deadline: until }, (err: GrpcError | null, res?: Res) => {
        if (!err && res !== undefined) resolve(res);
        else if (!err) reject(new ClaimantUnreachableError(to.id, 'empty answer'));
        else if (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED) reject(new ClaimantUnreachableError(to.id, err.details));
        else reject(new ServiceError(err.code, err.details));
      });
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
