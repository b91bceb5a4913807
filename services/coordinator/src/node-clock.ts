/**
 * How one storage node's wall clock relates to the coordinator's, learnt from the clock stamp on
 * every answer batch (`ReplicaResponseBatch.node_time_ms`), so that a request can carry the moment
 * the coordinator gives up on it in the node's own clock (`ReplicaRequest.deadline_ms`).
 *
 * Why a one-sided bound and not an NTP midpoint: the node stamps a batch before the coordinator
 * reads it, so for every batch `offset >= node_time - received_at` (offset = node clock minus
 * coordinator clock), whatever the network, the load or the clocks do. A deadline converted with
 * the largest such bound is never later than the real moment in the node's clock: the node drops
 * a request at or before the coordinator gives up, never after. The price is dropping up to one
 * one-way delay early — under a millisecond on a LAN, and the best recent sample is used.
 *
 * Why the bound expires: a node whose clock is stepped back (NTP, an operator, a fault test)
 * would otherwise keep its old, now too large bound, and run work up to the step late. After
 * `windowMs` without a sample as good, the latest sample replaces it (a smaller bound only makes
 * deadlines earlier, the safe side); the stream's heartbeat keeps samples coming when idle.
 */
export class NodeClock {
  private bound: number | undefined;
  private boundAt = 0;

  /** @param windowMs how long a best sample stands before a worse, newer one replaces it. */
  constructor(private readonly windowMs = 2_000) {}

  /** A batch the node stamped `nodeTimeMs` (its clock) was read at `receivedAt` (ours). */
  sample(nodeTimeMs: number, receivedAt: number): void {
    // 0: a node that does not stamp its batches (an older version); it learns nothing.
    if (!(nodeTimeMs > 0)) return;
    const bound = nodeTimeMs - receivedAt;
    if (this.bound === undefined || bound >= this.bound || receivedAt - this.boundAt > this.windowMs) {
      this.bound = bound;
      this.boundAt = receivedAt;
    }
  }

  /**
   * Our time `t` in the node's clock, never later than the real reading there; 0 ("not set")
   * before the node stamped anything.
   */
  toNodeTime(t: number): number {
    return this.bound === undefined ? 0 : Math.floor(t + this.bound);
  }
}
