import { InvalidArgumentError } from '@quorumkv/service-kit';
import { counterOf, sameActor, type Actor, type VectorClock, type Version } from '@quorumkv/vclock';

/**
 * This process's incarnation of a storage node: the actor (node id, epoch drawn at open) every
 * dot it mints carries, and the highest counter it minted so far.
 *
 * The counter lives in memory only. Why that is enough: a new process is a new incarnation with
 * a new epoch, so nothing is lost when the counter is; and the hot path writes no counter record.
 */
export class Incarnation {
  constructor(
    readonly actor: Actor,
    private counter: number,
  ) {}

  /** The highest counter minted (0 before the first mint). */
  get minted(): number {
    return this.counter;
  }

  /** Records a mint (the vclock mint never goes below `minted + 1`). */
  advanceTo(counter: number): void {
    this.counter = Math.max(this.counter, counter);
  }

  /** Refuses a client context claiming more of this incarnation's writes than it minted. */
  checkContext(context: VectorClock, field: string): void {
    this.checkClaim(counterOf(context, this.actor), field);
  }

  /** Refuses replicated versions whose dot or context claims writes of this incarnation it never minted. */
  checkVersions(versions: readonly Version[], field: string): void {
    for (const v of versions) {
      if (sameActor(v.dot, this.actor)) this.checkClaim(v.dot.counter, field);
      this.checkClaim(counterOf(v.context, this.actor), field);
    }
  }

  /**
   * Why refuse rather than clamp: every dot of this actor was minted here, and contexts are built
   * only from dots, so a higher counter is a forgery (or a bug). Minting above it would jump the
   * counter on the client's say-so — toward 2^53 and past what a number can tell apart; clamping
   * only the new dot would store a context covering dots this node has yet to mint, and merges
   * would then silently drop those future writes. Refusing changes nothing and says why.
   */
  private checkClaim(claimed: number, field: string): void {
    if (claimed <= this.counter) return;
    throw new InvalidArgumentError(
      field,
      `claims ${claimed} writes by ${this.actor.node} (epoch ${this.actor.epoch.toString(16)}), which has minted ${this.counter}; ` +
        'pass a context from a Get or Put unchanged',
    );
  }
}
