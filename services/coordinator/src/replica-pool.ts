import type { storage } from '@quorumkv/proto';
import type { Logger } from '@quorumkv/service-kit';
import type { NodeAddress } from './config.js';
import { ReplicaUnavailableError } from './errors.js';
import { ReplicaClient, type ReplicaClientOptions } from './replica-client.js';
import type { Timers } from './timers.js';

/**
 * What a merge carries: versions as messages (read repair), or a whole set as the record bytes a
 * minting node stored (`CoordinateResult.versions_record`), passed on without decoding.
 */
export type MergeSet = storage.Version[] | Buffer;

/**
 * What the request handlers need from the storage nodes. {@link ReplicaPool} implements it over
 * gRPC streams; handler tests can implement it in memory.
 */
export interface ReplicaTransport {
  /** Every version of `key` at `node`. */
  read(node: string, key: Buffer, timeoutMs: number): Promise<storage.Version[]>;
  /** Mints a version at `node`. */
  coordinate(node: string, op: storage.CoordinateOp, timeoutMs: number): Promise<storage.CoordinateResult>;
  /** Merges versions (or a whole set's record bytes) into `node`'s set. */
  merge(node: string, key: Buffer, versions: MergeSet, timeoutMs: number): Promise<void>;
  /** Whether requests to `node` will be sent now (its stream is open). */
  isUp(node: string): boolean;
}

/** Options shared by every node's client. */
export interface ReplicaPoolOptions {
  readonly nodes: readonly NodeAddress[];
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
 * node of the static membership.
 */
export class ReplicaPool implements ReplicaTransport {
  private readonly clients = new Map<string, ReplicaClient>();
  private readonly listeners = new Set<(upCount: number) => void>();

  constructor(options: ReplicaPoolOptions) {
    for (const node of options.nodes) {
      const client = new ReplicaClient({
        nodeId: node.id,
        address: node.address,
        logger: options.logger,
        ...(options.timers ? { timers: options.timers } : {}),
        ...(options.random ? { random: options.random } : {}),
        ...(options.backoff ? { backoff: options.backoff } : {}),
        ...(options.keepalive ? { keepalive: options.keepalive } : {}),
        ...(options.maxReceiveMessageBytes !== undefined ? { maxReceiveMessageBytes: options.maxReceiveMessageBytes } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      });
      client.onStateChange(() => {
        const up = this.upCount();
        for (const l of this.listeners) l(up);
      });
      this.clients.set(node.id, client);
    }
  }

  /** Opens every node's stream (they reconnect on their own from then on). */
  start(): void {
    for (const c of this.clients.values()) c.start();
  }

  /** Closes every stream; pending requests fail. */
  close(): void {
    for (const c of this.clients.values()) c.close();
  }

  /** Node ids, in membership order. */
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

  read(node: string, key: Buffer, timeoutMs: number): Promise<storage.Version[]> {
    const c = this.clients.get(node);
    return c ? c.read(key, timeoutMs) : Promise.reject(new ReplicaUnavailableError(node, 'not a member'));
  }

  coordinate(node: string, op: storage.CoordinateOp, timeoutMs: number): Promise<storage.CoordinateResult> {
    const c = this.clients.get(node);
    return c ? c.coordinate(op, timeoutMs) : Promise.reject(new ReplicaUnavailableError(node, 'not a member'));
  }

  merge(node: string, key: Buffer, versions: MergeSet, timeoutMs: number): Promise<void> {
    const c = this.clients.get(node);
    return c ? c.merge(key, versions, timeoutMs) : Promise.reject(new ReplicaUnavailableError(node, 'not a member'));
  }

  isUp(node: string): boolean {
    return this.clients.get(node)?.up ?? false;
  }

  /** Requests in flight on `node`'s stream now (0 for a node that is not a member). */
  inFlight(node: string): number {
    return this.clients.get(node)?.inFlight ?? 0;
  }
}
