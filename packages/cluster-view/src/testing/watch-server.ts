/**
 * A stand-in membership replica for tests of Watch consumers: a real grpc-js server on
 * 127.0.0.1 (port 0) that serves `MembershipService/Watch` from a view the test sets, pushes
 * every new view to the streams open, and can drop its streams or stop like a killed process.
 * Every other method answers UNIMPLEMENTED.
 */
import { Server, ServerCredentials, type ServerWritableStream, status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { membership } from '@quorumkv/proto';
import type { RingSnapshot } from '@quorumkv/ring';
import { type ClusterMember, viewToWire } from '../cluster-view.js';
import { type ClusterSettings, DEFAULT_CLUSTER_SETTINGS } from '../ring-codec.js';
import { RingView } from '@quorumkv/ring';

type WatchCall = ServerWritableStream<membership.WatchRequest, membership.ClusterView>;

/** A view to serve, built from plain parts. */
export interface ServedView {
  readonly ring: RingSnapshot;
  readonly members?: readonly ClusterMember[];
  readonly settings?: ClusterSettings;
}

/** A Watch-only membership server for tests. */
export class TestWatchServer {
  private readonly server = new Server();
  private readonly calls = new Set<WatchCall>();
  private view: membership.ClusterView;
  /** Every WatchRequest received, in order. */
  readonly requests: membership.WatchRequest[] = [];
  address = '';

  constructor(initial: ServedView) {
    this.view = TestWatchServer.toWire(initial);
    const unimplemented = (_call: unknown, callback: (err: { code: status; details: string }) => void): void =>
      callback({ code: status.UNIMPLEMENTED, details: 'test watch server' });
    const implementation: UntypedServiceImplementation = {
      watch: (call: WatchCall) => {
        this.requests.push(call.request);
        this.calls.add(call);
        call.on('cancelled', () => this.calls.delete(call));
        call.write(this.view);
      },
      status: unimplemented,
      join: unimplemented,
      leave: unimplemented,
      remove: unimplemented,
      transfers: unimplemented,
      setThrottle: unimplemented,
      reportTransfers: unimplemented,
    };
    this.server.addService(membership.MembershipServiceService, implementation);
  }

  /**
   * Binds 127.0.0.1 on `port` (0: any free port) and returns the address; `credentials` for a
   * stand-in on TLS (a membership certificate, for watchers that check the server's identity).
   */
  async listen(port = 0, credentials: ServerCredentials = ServerCredentials.createInsecure()): Promise<string> {
    const bound = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${port}`, credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.address = `127.0.0.1:${bound}`;
    return this.address;
  }

  /** Streams open now. */
  get watchers(): number {
    return this.calls.size;
  }

  /** Serves `next` from now on and pushes it to every open stream. */
  publish(next: ServedView): void {
    this.view = TestWatchServer.toWire(next);
    for (const call of this.calls) call.write(this.view);
  }

  /** Ends every open stream with UNAVAILABLE (the server keeps listening). */
  dropStreams(): void {
    for (const call of [...this.calls]) {
      this.calls.delete(call);
      call.emit('error', { code: status.UNAVAILABLE, details: 'dropped by the test' });
    }
  }

  /** Stops at once, cutting every connection (what a kill -9 looks like to a client). */
  stop(): void {
    this.calls.clear();
    this.server.forceShutdown();
  }

  private static toWire(v: ServedView): membership.ClusterView {
    return viewToWire({
      ring: new RingView(v.ring),
      settings: v.settings ?? DEFAULT_CLUSTER_SETTINGS,
      members: v.members ?? [],
      committedAtMs: 1_700_000_000_000 + v.ring.epoch,
    });
  }
}
