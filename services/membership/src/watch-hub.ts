/**
 * The Watch streams this replica serves: every watcher gets the current view at once, then a new
 * view whenever the chosen state or a member's liveness changes. Views are coalesced (a burst of
 * gossip events sends one view) and a watcher that does not keep up gets only the latest view once
 * its stream drains — a view replaces the one before it, so nothing is lost by skipping.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { type ClusterMember, viewToWire } from '@quorumkv/cluster-view';
import type { membership } from '@quorumkv/proto';
import { RingView } from '@quorumkv/ring';
import type { Logger } from '@quorumkv/service-kit';
import type { ClusterState } from './cluster-state.js';

type WatchCall = ServerWritableStream<membership.WatchRequest, membership.ClusterView>;

interface Watcher {
  readonly call: WatchCall;
  blocked: boolean;
  /** A view waits until the stream drains. */
  pending: boolean;
}

/** Serves views to watchers. `update` after any change; `watch` for each new stream. */
export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private view: membership.ClusterView;
  private ringView: RingView | undefined;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly source: { state(): ClusterState; members(): readonly ClusterMember[] },
    private readonly logger: Logger,
  ) {
    this.view = this.build();
  }

  /** Streams open now. */
  get size(): number {
    return this.watchers.size;
  }

  /** The view as served now. */
  get current(): membership.ClusterView {
    return this.view;
  }

  /** Serves one Watch stream until the client cancels it or the hub closes. */
  watch(call: WatchCall): void {
    if (this.closed) {
      call.end();
      return;
    }
    const watcher: Watcher = { call, blocked: false, pending: false };
    this.watchers.add(watcher);
    const done = (): void => {
      this.watchers.delete(watcher);
    };
    call.on('cancelled', done);
    call.on('error', done);
    call.on('close', done);
    call.on('drain', () => {
      watcher.blocked = false;
      if (watcher.pending) this.send(watcher);
    });
    this.logger.debug({ watcher: call.request.watcherId, role: call.request.role }, 'watcher connected');
    this.send(watcher);
  }

  /** Something changed: send a new view to every watcher (coalesced to one per turn). */
  update(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.closed) return;
      this.view = this.build();
      for (const w of this.watchers) this.send(w);
    });
  }

  /** Ends every stream (status OK): watchers move to another replica. */
  close(): void {
    this.closed = true;
    for (const w of this.watchers) w.call.end();
    this.watchers.clear();
  }

  private send(w: Watcher): void {
    if (w.blocked) {
      w.pending = true;
      return;
    }
    w.pending = false;
    if (!w.call.write(this.view)) w.blocked = true;
  }

  private build(): membership.ClusterView {
    const state = this.source.state();
    // A ring epoch never forks: the same epoch is the same ring, evaluated once.
    if (this.ringView?.epoch !== state.ring.epoch) this.ringView = new RingView(state.ring);
    return viewToWire({ ring: this.ringView, settings: state.settings, members: this.source.members(), committedAtMs: state.committedAtMs });
  }
}
