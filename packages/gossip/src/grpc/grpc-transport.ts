import {
  type ChannelCredentials,
  type ChannelOptions,
  type ClientWritableStream,
  credentials as grpcCredentials,
  type sendUnaryData,
  type Server,
  type ServerReadableStream,
  status,
} from '@grpc/grpc-js';
import { gossip as wire } from '@quorumkv/proto';
import { type Clock, type Timer, systemClock } from '../clock.js';
import type { GossipPacket } from '../messages.js';
import type { GossipTransport, PacketReceiver } from '../transport.js';
import { packetFromWire, packetToWire } from './wire-codec.js';

/**
 * Channel options for gossip peers. Why each:
 * - reconnect backoff 100 ms → 1 s (grpc-js defaults: 1 s → 120 s): a member that restarts is
 *   reachable again within about one probe interval, instead of being hidden behind a backoff of
 *   tens of seconds after a few failed attempts while it was down;
 * - keepalive every 10 s, 5 s to answer: a peer that vanished without closing its connection
 *   (host gone, cable cut) breaks the stream in seconds, so the next packet opens a new one
 *   rather than piling up on a dead socket;
 * - a local subchannel pool: closing an idle gossip channel closes its connection, and gossip
 *   never shares (or tears down) a connection the embedding service uses for its own calls.
 */
export const GOSSIP_CHANNEL_OPTIONS: Readonly<ChannelOptions> = Object.freeze({
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.use_local_subchannel_pool': 1,
});

/** How to build a {@link GrpcGossipTransport}. */
export interface GrpcGossipTransportOptions {
  /** @default credentials.createInsecure() (TLS comes with the rest of the cluster's) */
  readonly credentials?: ChannelCredentials;
  /** Laid over {@link GOSSIP_CHANNEL_OPTIONS}. */
  readonly channelOptions?: ChannelOptions;
  /** A peer's channel is closed after this long without a packet to it. @default 60000 */
  readonly idleCloseMs?: number;
  /** Packets waiting on one peer's stream before further ones are dropped. @default 256 */
  readonly maxQueuedPackets?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** What the transport did, for metrics. */
export interface GrpcTransportStats {
  packetsSent: number;
  /** Dropped on send: the peer's stream was backed up, or the transport closed. */
  packetsDropped: number;
  packetsReceived: number;
  /** Received packets that broke the protocol's shape (dropped). */
  malformedPackets: number;
  /** Received packets the member's receiver threw on (dropped; a bug to report). */
  receiverErrors: number;
  streamsOpened: number;
  /** Outbound streams that ended with an error (peer down, restarted, unreachable). */
  streamsFailed: number;
  channelsClosedIdle: number;
  /** Peers with an open channel now. */
  openChannels: number;
}

interface Peer {
  readonly client: wire.GossipServiceClient;
  call: ClientWritableStream<wire.SendRequest> | undefined;
  lastSendAt: number;
}

type Inbound = ServerReadableStream<wire.SendRequest, wire.SendResponse>;

/**
 * Gossip packets over gRPC: one long-lived client stream (`GossipService/Send`) per peer this
 * member sends to, and the `GossipService` implementation that takes other members' streams.
 * Packets are datagrams to the protocol: a send never waits and never fails loudly; a broken
 * stream drops what it held and the next packet opens a new one. Register the service on the
 * member's existing server with {@link addGossipService}.
 */
export class GrpcGossipTransport implements GossipTransport {
  /** The `quorumkv.gossip.v1.GossipService` implementation to register on the server. */
  readonly service: wire.GossipServiceServer;
  private readonly peers = new Map<string, Peer>();
  private readonly inbound = new Map<Inbound, sendUnaryData<wire.SendResponse>>();
  private readonly counts: Omit<GrpcTransportStats, 'openChannels'> = {
    packetsSent: 0,
    packetsDropped: 0,
    packetsReceived: 0,
    malformedPackets: 0,
    receiverErrors: 0,
    streamsOpened: 0,
    streamsFailed: 0,
    channelsClosedIdle: 0,
  };
  private readonly credentials: ChannelCredentials;
  private readonly channelOptions: ChannelOptions;
  private readonly idleCloseMs: number;
  private readonly maxQueued: number;
  private readonly clock: Clock;
  private receiver: PacketReceiver | undefined;
  private idleTimer: Timer | undefined;
  private closed = false;

  constructor(options: GrpcGossipTransportOptions = {}) {
    this.credentials = options.credentials ?? grpcCredentials.createInsecure();
    this.channelOptions = { ...GOSSIP_CHANNEL_OPTIONS, ...options.channelOptions };
    this.idleCloseMs = options.idleCloseMs ?? 60_000;
    this.maxQueued = options.maxQueuedPackets ?? 256;
    this.clock = options.clock ?? systemClock;
    this.service = { send: (call, callback) => this.accept(call, callback) };
    this.armIdleSweep();
  }

  send(address: string, packet: GossipPacket): void {
    if (this.closed) {
      this.counts.packetsDropped += 1;
      return;
    }
    let peer = this.peers.get(address);
    if (!peer) {
      let client: wire.GossipServiceClient;
      try {
        client = new wire.GossipServiceClient(address, this.credentials, this.channelOptions);
      } catch {
        // An address grpc-js cannot parse (gossiped by a misconfigured member): a datagram to nowhere.
        this.counts.packetsDropped += 1;
        return;
      }
      peer = { client, call: undefined, lastSendAt: 0 };
      this.peers.set(address, peer);
    }
    peer.lastSendAt = this.clock.now();
    const call = peer.call ?? this.open(peer);
    // Why drop rather than queue: a stream that is backed up (peer slow, or a connection still
    // being attempted) would deliver stale probes late; the protocol already treats silence as
    // loss, and memory stays bounded.
    if (call.writableLength >= this.maxQueued) {
      this.counts.packetsDropped += 1;
      return;
    }
    call.write(packetToWire(packet));
    this.counts.packetsSent += 1;
  }

  listen(receive: PacketReceiver): void {
    this.receiver = receive;
  }

  /** Ends every stream, both ways, and closes every channel. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.idleTimer?.cancel();
    for (const address of [...this.peers.keys()]) this.closePeer(address);
    for (const [call, callback] of this.inbound) {
      this.inbound.delete(call);
      callback({ code: status.UNAVAILABLE, details: 'gossip member stopped' });
    }
  }

  /** Counters so far. */
  stats(): GrpcTransportStats {
    return { ...this.counts, openChannels: this.peers.size };
  }

  private open(peer: Peer): ClientWritableStream<wire.SendRequest> {
    this.counts.streamsOpened += 1;
    const call = peer.client.send((err) => {
      if (peer.call === call) peer.call = undefined;
      if (err) this.counts.streamsFailed += 1;
    });
    peer.call = call;
    return call;
  }

  private accept(call: Inbound, callback: sendUnaryData<wire.SendResponse>): void {
    if (this.closed) {
      callback({ code: status.UNAVAILABLE, details: 'gossip member stopped' });
      return;
    }
    this.inbound.set(call, callback);
    let received = 0n;
    call.on('data', (request: wire.SendRequest) => {
      received += 1n;
      this.counts.packetsReceived += 1;
      if (this.closed || !this.receiver) return;
      let packet: GossipPacket;
      try {
        packet = packetFromWire(request);
      } catch {
        this.counts.malformedPackets += 1;
        return;
      }
      try {
        this.receiver(packet);
      } catch {
        // Why not crash: the member's whole service would go down over one packet.
        this.counts.receiverErrors += 1;
      }
    });
    call.on('end', () => {
      if (this.inbound.delete(call)) callback(null, { received });
    });
    call.on('error', () => {
      this.inbound.delete(call);
    });
    call.on('cancelled', () => {
      this.inbound.delete(call);
    });
  }

  private closePeer(address: string): void {
    const peer = this.peers.get(address);
    if (!peer) return;
    this.peers.delete(address);
    peer.call?.end();
    peer.client.close();
  }

  /** Closes channels idle for `idleCloseMs` (peers down or left for long, or no longer chosen). */
  private armIdleSweep(): void {
    this.idleTimer = this.clock.setTimer(this.idleCloseMs / 2, () => {
      const now = this.clock.now();
      for (const [address, peer] of this.peers) {
        if (now - peer.lastSendAt > this.idleCloseMs) {
          this.counts.channelsClosedIdle += 1;
          this.closePeer(address);
        }
      }
      if (!this.closed) this.armIdleSweep();
    });
  }
}

/** Registers the transport's `GossipService` on a member's grpc-js server. */
export function addGossipService(server: Server, transport: GrpcGossipTransport): void {
  server.addService(wire.GossipServiceService, transport.service);
}
