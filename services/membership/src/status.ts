/**
 * `MembershipService/Status`: every member — the ring's storage nodes and every process gossip
 * knows — with its liveness, ring state, zone, share of the ring, and the keys and bytes each
 * storage node reports through its own `StorageService/Stats` (like `nodetool status`).
 */
import { type ChannelCredentials, credentials, Metadata } from '@grpc/grpc-js';
import { livenessToWire, ringStateToWire, roleToWire, type ClusterMember } from '@quorumkv/cluster-view';
import { membership, storage } from '@quorumkv/proto';
import { RingView } from '@quorumkv/ring';
import type { HintsState } from '@quorumkv/hints';
import type { ClusterState } from './cluster-state.js';
import type { HintStatsFetcher } from './handoff.js';

/** Keys and bytes one storage node holds, or undefined when it did not answer in time. */
export type StatsFetcher = (address: string, timeoutMs: number) => Promise<{ keys: bigint; bytes: bigint } | undefined>;

/** Asks storage nodes for their Stats over cached channels. */
export class StorageStats {
  private readonly clients = new Map<string, storage.StorageServiceClient>();

  /** @param channelCredentials with TLS: the replica's certificate, accepting only storage nodes. */
  constructor(private readonly channelCredentials: ChannelCredentials = credentials.createInsecure()) {}

  /** A node's hint delivery stats (from the same Stats call), for Handoff. */
  readonly fetchHints: HintStatsFetcher = (address, timeoutMs) => {
    const c = this.client(address);
    return new Promise((resolve) => {
      c.stats({}, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => resolve(err ? undefined : res.hints));
    });
  };

  private client(address: string): storage.StorageServiceClient {
    let client = this.clients.get(address);
    if (!client) {
      client = new storage.StorageServiceClient(address, this.channelCredentials, { 'grpc.max_reconnect_backoff_ms': 1_000 });
      this.clients.set(address, client);
    }
    return client;
  }

  readonly fetch: StatsFetcher = (address, timeoutMs) => {
    const c = this.client(address);
    return new Promise((resolve) => {
      c.stats({}, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => resolve(err ? undefined : { keys: res.keyCount, bytes: res.approximateBytes }));
    });
  };

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

/** The Status answer from the chosen state, the gossip members and each storage node's Stats. */
export async function clusterStatus(input: {
  readonly state: ClusterState;
  readonly members: readonly ClusterMember[];
  readonly claimant: string;
  readonly stats: StatsFetcher;
  readonly statsTimeoutMs: number;
  /** Whether hinted handoff is available, and why not. */
  readonly hints: HintsState;
}): Promise<membership.StatusResponse> {
  const { state, members } = input;
  const ring = new RingView(state.ring);
  const shares = ring.current.shares();
  const byId = new Map(members.map((m) => [m.id, m]));
  const out: membership.MemberStatus[] = [];
  const asked: Promise<void>[] = [];
  for (const rm of state.ring.members) {
    const gossip = byId.get(rm.id);
    const liveness = gossip?.liveness ?? 'down';
    const status: membership.MemberStatus = {
      id: rm.id,
      address: rm.address,
      role: membership.Role.ROLE_STORAGE,
      liveness: livenessToWire(liveness),
      ringState: ringStateToWire(rm.state),
      zone: rm.zone ?? gossip?.zone ?? '',
      ownedShare: shares.get(rm.id) ?? 0,
      keys: 0n,
      bytes: 0n,
    };
    out.push(status);
    if (rm.state !== 'left' && (liveness === 'alive' || liveness === 'suspect')) {
      asked.push(
        input.stats(rm.address, input.statsTimeoutMs).then((s) => {
          if (s) {
            status.keys = s.keys;
            status.bytes = s.bytes;
          }
        }),
      );
    }
  }
  const inRing = new Set(state.ring.members.map((m) => m.id));
  for (const m of members) {
    // A process that left on purpose and holds no ranges is history, not a member (a restarted
    // coordinator comes back under a new id).
    if (inRing.has(m.id) || m.liveness === 'left') continue;
    out.push({
      id: m.id,
      address: m.address,
      role: roleToWire(m.role),
      liveness: livenessToWire(m.liveness),
      ringState: membership.RingState.RING_STATE_UNSPECIFIED,
      zone: m.zone,
      ownedShare: 0,
      keys: 0n,
      bytes: 0n,
    });
  }
  await Promise.all(asked);
  out.sort((a, b) => a.role - b.role || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { epoch: BigInt(state.ring.epoch), replicationFactor: state.ring.replicationFactor, members: out, claimant: input.claimant, hintsEnabled: input.hints.on, hintsReason: input.hints.on ? '' : input.hints.reason };
}
