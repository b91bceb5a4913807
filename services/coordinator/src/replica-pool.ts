import type { storage } from '@quorumkv/proto';
import type { Logger } from '@quorumkv/service-kit';
import { ReplicaUnavailableError } from './errors.js';
import { ReplicaClient, type ReplicaClientOptions } from './replica-client.js';
import type { Timers } from './timers.js';

/**
 * What a merge carries: versions as messages (read repair), or a whole set as the record bytes a
 * minting node stored (`CoordinateResult.versions_record`), passed on without decoding.
 */
export type MergeSet = storage.Version[] | Buffer;

/** One storage node to keep a stream to: its ring id and the address of its StorageService. */
export interface NodeAddress {
  readonly id: string;
  readonly address: string;
}

/**
 * What the request handlers need from the storage nodes. {@link ReplicaPool} implements it over
 * gRPC streams; handler tests can implement it in memory. Every request carries the ring epoch
 * it was routed by: a node that knows a newer one refuses it (`StaleRingEpochError`).
 */
export interface ReplicaTransport {
  /**
   * Every version of `key` at `node`, and the request ids applied to it (`ReadResult.applied`);
   * with `standIn`, the copies `node` keeps as a stand-in instead.
   */
  read(node: string, key: Buffer, timeoutMs: number, ringEpoch: number, standIn?: boolean): Promise<storage.ReadResult>;
  /** Mints a version at `node`. */
  coordinate(node: string, op: storage.CoordinateOp, timeoutMs: number, ringEpoch: number): Promise<storage.CoordinateResult>;
  /**
   * Merges versions (or a whole set's record bytes) into `node`'s set; with messages, `applied`
   * carries the request ids the versions were read with (read repair). With `hintedFor`, `node`
   * keeps the set as a stand-in copy for that replica (record bytes only).
   */
  merge(node: string, key: Buffer, versions: MergeSet, timeoutMs: number, ringEpoch: number, applied?: storage.AppliedWrite[], hintedFor?: string): Promise<void>;
  /** Whether requests to `node` will be sent now (its stream is open). */
  isUp(node: string): boolean;
}

/** Options shared by every node's client. */
export interface ReplicaPoolOptions {
  /** The nodes to start with (more come and go with {@link ReplicaPool.setNodes}). @default none */
  readonly nodes?: readonly NodeAddress[];
  readonly logger: Logger;
  readonly timers?: Timers;
  readonly random?: () => number;
  readonly backoff?: ReplicaClientOptions['backoff'];
  readonly keepalive?: ReplicaClientOptions['keepalive'];
  readonly maxReceiveMessageBytes?: ReplicaClientOptions['maxReceiveMessageBytes'];
  /** Credentials of every channel to a storage node. @default plain text */
  readonly credentials?: ReplicaClientOptions['credentials'];
}

/**
 * The coordinator's connections: one {@link ReplicaClient} (one long-lived stream) per storage
 * node of the ring. `setNodes` follows the ring: streams to new nodes open, streams to nodes that
 * left close.
 */
export class ReplicaPool implements ReplicaTransport {
  private readonly clients = new Map<string, ReplicaClient>();
  private readonly listeners = new Set<(upCount: number) => void>();
  private started = false;
  private closed = false;

  constructor(private readonly options: ReplicaPoolOptions) {
    this.setNodes(options.nodes ?? []);
  }

  /**
   * Keeps a stream to exactly these nodes: opens the new ones (once started), closes those no
   * longer listed (their requests in flight fail as a broken stream), and replaces a node whose
   * address changed. Returns the ids added and removed.
   */
  setNodes(nodes: readonly NodeAddress[]): { added: string[]; removed: string[] } {
    const added: string[] = [];
    const removed: string[] = [];
    if (this.closed) return { added, removed };
    const wanted = new Map(nodes.map((n) => [n.id, n.address]));
    for (const [id, client] of [...this.clients]) {
      if (wanted.get(id) === client.address) continue;
      client.close();
      this.clients.delete(id);
      removed.push(id);
    }
    for (const node of nodes) {
      if (this.clients.has(node.id)) continue;
      const client = new ReplicaClient({
        nodeId: node.id,
        address: node.address,
        logger: this.options.logger,
        ...(this.options.timers ? { timers: this.options.timers } : {}),
        ...(this.options.random ? { random: this.options.random } : {}),
        ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
        ...(this.options.keepalive ? { keepalive: this.options.keepalive } : {}),
        ...(this.options.maxReceiveMessageBytes !== undefined ? { maxReceiveMessageBytes: this.options.maxReceiveMessageBytes } : {}),
        ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
      });
      client.onStateChange(() => this.notify());
      this.clients.set(node.id, client);
      if (this.started) client.start();
      added.push(node.id);
    }
    if (removed.length > 0) this.notify();
    return { added, removed };
  }

  /** Opens every node's stream (they reconnect on their own from then on). */
  start(): void {
    this.started = true;
    for (const c of this.clients.values()) c.start();
  }

  /** Closes every stream; pending requests fail. */
  close(): void {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
  }

  /** Node ids, in the order they were added. */
  nodeIds(): string[] {
    return [...this.clients.keys()];
  }

  /** The client of one node. @throws when the id is not a member. */
  client(node: string): ReplicaClient {
    const c = this.clients.get(node);
    if (c === undefined) throw new ReplicaUnavailableError(node, 'not a member of this cluster');
    return c;
  }

  /** How many nodes have an open stream. */
  upCount(): number {
    let n = 0;
    for (const c of this.clients.values()) if (c.up) n++;
    return n;
  }

  /** Calls `listener` with the number of nodes up whenever a node goes up or down. */
  onUpCountChange(listener: (upCount: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves once `count` nodes are up, or rejects after `timeoutMs` naming the nodes still
   * down (for tests and startup logs; readiness itself is reported through health).
   */
  waitForUp(count: number, timeoutMs: number): Promise<void> {
    if (this.upCount() >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        const down = [...this.clients.values()].filter((c) => !c.up).map((c) => `${c.nodeId}: ${c.downReason}`);
        reject(new Error(`only ${this.upCount()} of ${count} storage node streams up after ${timeoutMs} ms (${down.join(', ')})`));
      }, timeoutMs);
      const off = this.onUpCountChange((up) => {
        if (up < count) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  read(node: string, key: Buffer, timeoutMs: number, ringEpoch: number, standIn = false): Promise<storage.ReadResult> {
    const c = this.clients.get(node);
    return c ? c.read(key, timeoutMs, ringEpoch, standIn) : Promise.reject(new ReplicaUnavailableError(node, 'not in the ring this coordinator follows'));
  }

  coordinate(node: string, op: storage.CoordinateOp, timeoutMs: number, ringEpoch: number): Promise<storage.CoordinateResult> {
    const c = this.clients.get(node);
    return c ? c.coordinate(op, timeoutMs, ringEpoch) : Promise.reject(new ReplicaUnavailableError(node, 'not in the ring this coordinator follows'));
  }

  merge(node: string, key: Buffer, versions: MergeSet, timeoutMs: number, ringEpoch: number, applied?: storage.AppliedWrite[], hintedFor = ''): Promise<void> {
    const c = this.clients.get(node);
    return c ? c.merge(key, versions, timeoutMs, ringEpoch, applied, hintedFor) : Promise.reject(new ReplicaUnavailableError(node, 'not in the ring this coordinator follows'));
  }

  isUp(node: string): boolean {
    return this.clients.get(node)?.up ?? false;
  }

  /** Requests in flight on `node`'s stream now (0 for a node that is not a member). */
  inFlight(node: string): number {
    return this.clients.get(node)?.inFlight ?? 0;
  }

  private notify(): void {
    const up = this.upCount();
    for (const l of this.listeners) l(up);
  }
}
