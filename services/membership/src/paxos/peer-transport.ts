/**
 * Paxos between membership replicas over gRPC: the `MembershipPeerService` each replica serves
 * from its acceptor, and the transport a proposer uses to reach every acceptor (its own replica's
 * directly, the others over the network).
 */
import { type ChannelCredentials, type ChannelOptions, credentials, Metadata, type ServiceError as GrpcError, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { membershipConsensus as wire } from '@quorumkv/proto';
import { type Logger, unary } from '@quorumkv/service-kit';
import { type ClusterState, stateFromWire, stateToWire } from '../cluster-state.js';
import type { Acceptor, AcceptReply, PrepareReply } from './acceptor.js';
import type { Ballot } from './ballot.js';
import type { PeerTransport } from './proposer.js';

/** Channel options to other replicas: back within a second after a replica restarts. */
export const PEER_CHANNEL_OPTIONS: Readonly<ChannelOptions> = Object.freeze({
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
});

function ballotToWire(b: Ballot): wire.Ballot {
  return { round: BigInt(b.round), proposer: b.proposer };
}

function ballotFromWire(b: wire.Ballot | undefined): Ballot | undefined {
  return b === undefined || b.proposer === '' ? undefined : { round: Number(b.round), proposer: b.proposer };
}

function optionalState(s: wire.ClusterState | undefined): ClusterState | undefined {
  return s === undefined ? undefined : stateFromWire(s);
}

/** The `MembershipPeerService` implementation over this replica's acceptor. */
export function peerServiceImplementation(acceptor: Acceptor, logger: Logger): UntypedServiceImplementation {
  return {
    prepare: unary<wire.PrepareRequest, wire.PrepareResponse>(logger, async (req) => {
      const ballot = ballotFromWire(req.ballot);
      if (!ballot) throw new TypeError('prepare without a ballot');
      const r = await acceptor.prepare(Number(req.instance), ballot, optionalState(req.base));
      return {
        promised: r.promised,
        ...(r.promisedBallot ? { promisedBallot: ballotToWire(r.promisedBallot) } : {}),
        ...(r.accepted ? { acceptedBallot: ballotToWire(r.accepted.ballot), accepted: stateToWire(r.accepted.value) } : {}),
        ...(r.decided ? { decided: stateToWire(r.decided) } : {}),
      };
    }),
    accept: unary<wire.AcceptRequest, wire.AcceptResponse>(logger, async (req) => {
      const ballot = ballotFromWire(req.ballot);
      if (!ballot || !req.value) throw new TypeError('accept without a ballot or a value');
      const r = await acceptor.accept(Number(req.instance), ballot, stateFromWire(req.value));
      return {
        accepted: r.accepted,
        ...(r.promisedBallot ? { promisedBallot: ballotToWire(r.promisedBallot) } : {}),
        ...(r.decided ? { decided: stateToWire(r.decided) } : {}),
      };
    }),
    decide: unary<wire.DecideRequest, wire.DecideResponse>(logger, async (req) => {
      if (req.state) await acceptor.learn(stateFromWire(req.state));
      return {};
    }),
  };
}

/** How to reach the acceptors. */
export interface GrpcPeerTransportOptions {
  /** The name this replica's own acceptor goes by in `peers` (answered by `local`, no network). @default 'local' */
  readonly self?: string;
  /** The other replicas' addresses (`--peers`). */
  readonly others: readonly string[];
  readonly local: Acceptor;
  /** Deadline of each call. @default 1000 */
  readonly callTimeoutMs?: number;
  /** With TLS: this replica's certificate, accepting only membership replicas. @default insecure */
  readonly credentials?: ChannelCredentials;
}

/** A proposer's transport: the local acceptor in-process, the others over gRPC. */
export class GrpcPeerTransport implements PeerTransport {
  readonly peers: readonly string[];
  private readonly clients = new Map<string, wire.MembershipPeerServiceClient>();
  private readonly timeoutMs: number;
  private readonly self: string;

  constructor(private readonly options: GrpcPeerTransportOptions) {
    this.self = options.self ?? 'local';
    this.peers = [this.self, ...options.others.filter((o) => o !== this.self)];
    this.timeoutMs = options.callTimeoutMs ?? 1_000;
    for (const address of this.peers.slice(1)) {
      this.clients.set(address, new wire.MembershipPeerServiceClient(address, options.credentials ?? credentials.createInsecure(), PEER_CHANNEL_OPTIONS));
    }
  }

  prepare(peer: string, instance: number, ballot: Ballot, base: ClusterState): Promise<PrepareReply> {
    if (peer === this.self) return this.options.local.prepare(instance, ballot, base);
    return this.call<wire.PrepareRequest, wire.PrepareResponse>(peer, 'prepare', { instance: BigInt(instance), ballot: ballotToWire(ballot), base: stateToWire(base) }).then((r) => {
      const acceptedBallot = ballotFromWire(r.acceptedBallot);
      return {
        promised: r.promised,
        promisedBallot: ballotFromWire(r.promisedBallot),
        accepted: acceptedBallot && r.accepted ? { ballot: acceptedBallot, value: stateFromWire(r.accepted) } : undefined,
        decided: optionalState(r.decided),
      };
    });
  }

  accept(peer: string, instance: number, ballot: Ballot, value: ClusterState): Promise<AcceptReply> {
    if (peer === this.self) return this.options.local.accept(instance, ballot, value);
    return this.call<wire.AcceptRequest, wire.AcceptResponse>(peer, 'accept', { instance: BigInt(instance), ballot: ballotToWire(ballot), value: stateToWire(value) }).then((r) => ({
      accepted: r.accepted,
      promisedBallot: ballotFromWire(r.promisedBallot),
      decided: optionalState(r.decided),
    }));
  }

  async decide(peer: string, state: ClusterState): Promise<void> {
    if (peer === this.self) return this.options.local.learn(state);
    await this.call<wire.DecideRequest, wire.DecideResponse>(peer, 'decide', { state: stateToWire(state) });
  }

  /** Closes every channel. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private call<Req, Res>(peer: string, method: 'prepare' | 'accept' | 'decide', request: Req): Promise<Res> {
    const client = this.clients.get(peer);
    if (!client) return Promise.reject(new Error(`unknown membership replica ${peer}`));
    const def = wire.MembershipPeerServiceService[method] as unknown as {
      readonly path: string;
      readonly requestSerialize: (value: Req) => Buffer;
      readonly responseDeserialize: (bytes: Buffer) => Res;
    };
    return new Promise<Res>((resolve, reject) => {
      client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, new Metadata(), { deadline: Date.now() + this.timeoutMs }, (err: GrpcError | null, res?: Res) =>
        err || res === undefined ? reject(err ?? new Error('empty answer')) : resolve(res),
      );
    });
  }
}
