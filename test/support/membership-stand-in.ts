/**
 * A stand-in for the membership service in tests of the storage node's side of a living ring,
 * until the real service runs in them: a real grpc-js server on 127.0.0.1:0 serving Watch, Join
 * and ReportTransfers with the claimant's rules — the first `bootstrap` joins form the ring
 * (NORMAL), later ones are JOINING; an epoch with JOINING or LEAVING members commits (JOINING →
 * NORMAL, LEAVING → LEFT) once every node with ranges to receive reported them complete for it.
 * Leave, remove and the throttle are methods the test calls.
 */
import { Server, ServerCredentials, status, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { DEFAULT_CLUSTER_SETTINGS, viewToWire, type ClusterSettings } from '@quorumkv/cluster-view';
import { membership } from '@quorumkv/proto';
import { RingView, type RingMember } from '@quorumkv/ring';

type WatchCall = ServerWritableStream<membership.WatchRequest, membership.ClusterView>;
type Unary<Q, R> = (call: { request: Q }, cb: (err: { code: status; details: string } | null, res?: R) => void) => void;

/** See the file comment. */
export class MembershipStandIn {
  private readonly server = new Server();
  private readonly calls = new Set<WatchCall>();
  private members: RingMember[] = [];
  private settings: ClusterSettings = DEFAULT_CLUSTER_SETTINGS;
  private complete = new Set<string>();
  /** Every report received, in order. */
  readonly reports: membership.TransferReport[] = [];
  ring: RingView;
  address = '';

  constructor(
    private readonly bootstrap: number,
    private readonly replicationFactor = 3,
    private readonly vnodes = 64,
  ) {
    this.ring = new RingView({ epoch: 0, replicationFactor, vnodes, members: [] });
    const join: Unary<membership.JoinRequest, membership.ChangeResponse> = ({ request }, cb) => {
      const existing = this.members.find((m) => m.id === request.id);
      if (existing) {
        if (existing.address !== request.address) return cb({ code: status.ALREADY_EXISTS, details: `${request.id} is in the ring at ${existing.address}` });
        return cb(null, { epoch: BigInt(this.ring.epoch), message: `${request.id} is already in the ring` });
      }
      if (this.ring.changesPending) return cb({ code: status.FAILED_PRECONDITION, details: 'another change is in flight' });
      const state = this.members.length < this.bootstrap ? 'normal' : 'joining';
      this.commit([...this.members, { id: request.id, address: request.address, zone: request.zone, state }]);
      return cb(null, { epoch: BigInt(this.ring.epoch), message: `${request.id} is ${state}` });
    };
    const report: Unary<membership.TransferReport, membership.ReportTransfersResponse> = ({ request }, cb) => {
      this.reports.push(request);
      if (request.complete && Number(request.epoch) === this.ring.epoch) {
        this.complete.add(request.nodeId);
        this.maybeCommit();
      }
      cb(null, {});
    };
    const unimplemented: Unary<unknown, unknown> = (_c, cb) => cb({ code: status.UNIMPLEMENTED, details: 'stand-in' });
    const implementation: UntypedServiceImplementation = {
      watch: (call: WatchCall) => {
        this.calls.add(call);
        call.on('cancelled', () => this.calls.delete(call));
        call.write(this.wire());
      },
      join,
      reportTransfers: report,
      status: unimplemented,
      leave: unimplemented,
      remove: unimplemented,
      transfers: unimplemented,
      setThrottle: unimplemented,
    };
    this.server.addService(membership.MembershipServiceService, implementation);
  }

  async listen(): Promise<string> {
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.address = `127.0.0.1:${port}`;
    return this.address;
  }

  /** Decommissions `id` (LEAVING; LEFT once its ranges arrived elsewhere). */
  leave(id: string): void {
    this.commit(this.members.map((m) => (m.id === id ? { ...m, state: 'leaving' } : m)));
  }

  /** Takes a dead node out for good: its ranges are rebuilt from the surviving replicas. */
  remove(id: string): void {
    this.commit(this.members.map((m) => (m.id === id ? { ...m, state: 'leaving', removed: true } : m)));
  }

  /** Sets the cluster's streaming throughput (pushed to every watcher at once). */
  throttle(bytesPerSecond: number): void {
    this.settings = { streamThroughputBytesPerS: bytesPerSecond };
    for (const call of this.calls) call.write(this.wire());
  }

  stop(): void {
    for (const call of this.calls) call.end();
    this.server.forceShutdown();
  }

  private maybeCommit(): void {
    const receivers = new Set(this.ring.transfers().map((t) => t.to));
    if ([...receivers].some((id) => !this.complete.has(id))) return;
    this.commit(
      this.members.map((m) => (m.state === 'joining' ? { ...m, state: 'normal' } : m.state === 'leaving' ? { ...m, state: 'left', removed: false } : m)),
    );
  }

  private commit(members: RingMember[]): void {
    this.members = members;
    this.complete = new Set();
    this.ring = new RingView({ epoch: this.ring.epoch + 1, replicationFactor: this.replicationFactor, vnodes: this.vnodes, members });
    for (const call of this.calls) call.write(this.wire());
  }

  private wire(): membership.ClusterView {
    return viewToWire({ ring: this.ring, settings: this.settings, members: [], committedAtMs: Date.now() });
  }
}
