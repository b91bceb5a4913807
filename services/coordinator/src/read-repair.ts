import type { Logger } from '@quorumkv/service-kit';
import type { storage } from '@quorumkv/proto';
import { appliedToProto, mergeKeyVersions, sameVersions, versionToProto, type KeyVersions } from '@quorumkv/vclock';
import { replicaSpan } from './observability.js';
import type { ReplicaAttempt } from './quorum.js';
import type { ReplicaTransport } from './replica-pool.js';

/** Counts of the repairs this coordinator made. */
export interface ReadRepairCounts {
  /** MergeOps sent to replicas whose answer lacked part of the merged set. */
  sent: number;
  /** Of those, how many the replica acknowledged. */
  acknowledged: number;
  /** Of those, how many failed (the replica stays stale until the next read or anti-entropy). */
  failed: number;
}

/** Options of {@link ReadRepair}. */
export interface ReadRepairOptions {
  readonly transport: ReplicaTransport;
  readonly logger: Logger;
  /** Timeout of each repair MergeOp. */
  readonly timeoutMs: number;
  /** Called once per repair sent (the coordinator counts `quorumkv_read_repairs_total`). */
  readonly onRepair?: (node: string) => void;
}

/**
 * Read repair: after a Get has replied, bring the replicas that answered with a stale set up to
 * date by sending each the merged set.
 *
 * Why it waits for every replica, not just the R that answered the client: a late answer can
 * hold a version the first R lacked (with R < N the reply was built without it). Merging it in
 * before deciding who is stale repairs the early answerers too, and the late replica itself when
 * it is the stale one. Replicas that never answer are left to anti-entropy; a repair is one
 * MergeOp, idempotent (merging a set a replica already holds changes nothing), so a repair racing
 * a concurrent write cannot lose that write.
 */
export class ReadRepair {
  /** What was repaired so far. */
  readonly counts: ReadRepairCounts = { sent: 0, acknowledged: 0, failed: 0 };
  private readonly options: ReadRepairOptions;

  constructor(options: ReadRepairOptions) {
    this.options = options;
  }

  /**
   * Starts the repair of one key in the background, once every attempt of its read settled.
   * Returns the promise of that work (tests await it; the handler does not).
   */
  afterRead(key: Buffer, attempts: readonly ReplicaAttempt<KeyVersions>[], ringEpoch: number): Promise<void> {
    return Promise.allSettled(attempts.map((a) => a.result)).then((results) => {
      const answers: { node: string; set: KeyVersions }[] = [];
      results.forEach((r, i) => {
        const node = attempts[i]?.node;
        if (r.status !== 'fulfilled' || node === undefined) return;
        answers.push({ node, set: r.value });
      });
      const merged = mergeKeyVersions(answers.map((a) => a.set));
      const stale = answers.filter((a) => !sameVersions(a.set.versions, merged.versions));
      if (stale.length === 0) return undefined;
      const proto = merged.versions.map(versionToProto);
      // The request ids travel with the versions, so a replica holding a duplicate mint the
      // merged set collapsed drops it as well, instead of keeping it and being repaired again.
      const applied = appliedToProto(merged.applied);
      return Promise.all(stale.map((a) => this.repair(a.node, key, proto, applied, ringEpoch))).then(() => undefined);
    });
  }

  private async repair(node: string, key: Buffer, versions: storage.Version[], applied: storage.AppliedWrite[], ringEpoch: number): Promise<void> {
    this.counts.sent++;
    this.options.onRepair?.(node);
    try {
      await replicaSpan('replica.repair', node, () => this.options.transport.merge(node, key, versions, this.options.timeoutMs, ringEpoch, applied));
      this.counts.acknowledged++;
    } catch (err) {
      this.counts.failed++;
      // `replica`, not `node`: the coordinator's logger already names its own node.
      this.options.logger.debug({ err, replica: node }, 'read repair failed');
    }
  }
}
