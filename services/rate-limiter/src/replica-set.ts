/**
 * The rate-limiter replicas counter keys are spread over, and the way to reach each: the
 * consistent-hash ring of their ids (who owns a key), a forwarder per other replica, and — with
 * membership from gossip — the owners this replica found unreachable, passed over for a while.
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from '@quorumkv/service-kit';
import { HashRing } from '@quorumkv/ring';
import type { ReplicaAddress } from './config.js';
import type { Ownership } from './ownership.js';
import { PeerForwarder } from './peer-forwarder.js';

/** How to build a {@link ReplicaSet}. */
export interface ReplicaSetOptions {
  readonly selfId: string;
  /** How long a forwarded decision may take. */
  readonly forwardTimeoutMs: number;
  readonly logger: Logger;
  /**
   * When an owner cannot be reached from here, give its keys to their successor on the ring until
   * it can again (membership from gossip). False for a static `--replicas` list: ownership never
   * moves, an unreachable owner is left to the failure mode.
   */
  readonly failover: boolean;
  /** How long an owner that failed is passed over before it is tried again. @default 5000 */
  readonly holdMs?: number;
  /** Virtual nodes per replica. @default 128 */
  readonly vnodes?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Credentials of the channels to the other replicas (mutual TLS). @default insecure */
  readonly credentials?: ChannelCredentials;
  /** Builds the forwarder to one replica (tests replace it). */
  readonly forwarder?: (peer: ReplicaAddress) => PeerForwarder;
}

/** The replicas and who owns each counter key among them. */
export class ReplicaSet implements Ownership {
  readonly selfId: string;
  private ring: HashRing | undefined;
  private ids: string[];
  private readonly addresses = new Map<string, string>();
  private readonly peers = new Map<string, PeerForwarder>();
  private readonly passedOver = new Map<string, number>();
  private readonly now: () => number;
  private readonly makeForwarder: (peer: ReplicaAddress) => PeerForwarder;

  constructor(private readonly options: ReplicaSetOptions) {
    this.selfId = options.selfId;
    this.ids = [options.selfId];
    this.now = options.now ?? Date.now;
    this.makeForwarder =
      options.forwarder ??
      ((peer) =>
        new PeerForwarder({
          selfId: options.selfId,
          peerId: peer.id,
          address: peer.address,
          timeoutMs: options.forwardTimeoutMs,
          logger: options.logger,
          ...(options.credentials ? { credentials: options.credentials } : {}),
        }));
  }

  /** Whether an unreachable owner's keys go to their successor (membership from gossip). */
  get failover(): boolean {
    return this.options.failover;
  }

  /**
   * Sets the replicas (this one included; empty: standalone, this replica owns every key): the
   * ring is rebuilt, forwarders open to new replicas and close for departed ones. Returns whether
   * anything changed.
   */
  setReplicas(replicas: readonly ReplicaAddress[]): boolean {
    const next = new Map(replicas.map((r) => [r.id, r.address]));
    if (next.size > 0) next.set(this.selfId, next.get(this.selfId) ?? '');
    const same = next.size === this.addresses.size && [...next].every(([id, a]) => this.addresses.get(id) === a);
    if (same && (next.size > 0 || this.ring === undefined)) return false;
    for (const [id, peer] of [...this.peers]) {
      if (next.get(id) === this.addresses.get(id) && next.has(id)) continue;
      peer.close();
      this.peers.delete(id);
      this.passedOver.delete(id);
    }
    this.addresses.clear();
    for (const [id, address] of next) {
      this.addresses.set(id, address);
      if (id !== this.selfId && !this.peers.has(id)) this.peers.set(id, this.makeForwarder({ id, address }));
    }
    if (next.size === 0) {
      this.ring = undefined;
      this.ids = [this.selfId];
    } else {
      const ring = new HashRing({ vnodes: this.options.vnodes ?? 128 });
      for (const id of next.keys()) ring.addNode(id);
      this.ring = ring;
      this.ids = ring.nodes();
    }
    return true;
  }

  /**
   * The replica that decides `counterKey` now: its owner on the ring, or — when this replica
   * found the owner unreachable — the next replica clockwise. Why the successor: it is the replica
   * that owns the key once the owner leaves the ring (removing a node hands each of its arcs to
   * the next one), so the count it starts during failure detection is the one that goes on
   * afterwards — one fresh count per failure, not one for the gap and another after it.
   */
  owner(counterKey: string): string {
    const ring = this.ring;
    if (ring === undefined) return this.selfId;
    if (this.passedOver.size === 0) return ring.owner(counterKey) ?? this.selfId;
    const now = this.now();
    const skip = (id: string): boolean => {
      const until = this.passedOver.get(id);
      if (until === undefined) return false;
      if (until > now) return true;
      this.passedOver.delete(id);
      return false;
    };
    return ring.preferenceList(counterKey, 1, { skip })[0] ?? this.selfId;
  }

  /** Every replica id, sorted. */
  replicas(): string[] {
    return [...this.ids];
  }

  /** The forwarder to replica `id`, or undefined (this replica, or one not in the set). */
  peer(id: string): PeerForwarder | undefined {
    return this.peers.get(id);
  }

  /** Passes `id` over for `holdMs` (its forwarded decisions failed). Never this replica. */
  passOver(id: string): void {
    if (id === this.selfId || !this.addresses.has(id)) return;
    const first = !this.passedOver.has(id);
    this.passedOver.set(id, this.now() + (this.options.holdMs ?? 5_000));
    if (first) this.options.logger.warn({ owner: id, holdMs: this.options.holdMs ?? 5_000 }, 'owner replica unreachable: its keys go to their successor for now');
  }

  /** Stops passing `id` over (gossip says it is alive again). */
  restore(id: string): void {
    this.passedOver.delete(id);
  }

  /** Closes every forwarder. */
  close(): void {
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
  }
}
