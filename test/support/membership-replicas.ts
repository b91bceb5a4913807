/**
 * Test support: membership replicas as real processes on reserved ports, each with its data
 * folder (kept across a kill -9 and a restart), and a recorder of every ring epoch any watcher
 * sees, to catch a fork.
 */
import { join } from 'node:path';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ClusterViewClient } from '@quorumkv/cluster-view';
import { ServiceProcess, serviceEntry } from '@quorumkv/local-cluster';
import { membership } from '@quorumkv/proto';

/** One replica: how to start it again on the same port and folder. */
export interface Replica {
  readonly id: string;
  readonly address: string;
  readonly dataDir: string;
  process: ServiceProcess;
}

/** Starts replica `id` on `address` with `peers` (the other replicas), its state in `dataDir`. */
export function startReplica(id: string, address: string, dataDir: string, peers: readonly string[], logDir: string): Promise<ServiceProcess> {
  return ServiceProcess.start({
    name: id,
    entry: serviceEntry('membership'),
    args: ['--id', id, '--listen', address, '--data-dir', dataDir, ...(peers.length > 0 ? ['--peers', peers.join(',')] : []), '--vnodes', '16'],
    env: { LOG_LEVEL: 'info' },
    logFile: join(logDir, `${id}.log`),
    startTimeoutMs: 20_000,
  });
}

/** `ReportTransfers` as a storage node sends it: every range of `epoch` received. */
export function reportComplete(address: string, nodeId: string, epoch: number): Promise<void> {
  const client = new membership.MembershipServiceClient(address, credentials.createInsecure());
  return new Promise<void>((resolve, reject) => {
    client.reportTransfers({ nodeId, epoch: BigInt(epoch), ranges: [], rateBytesPerS: 0, complete: true }, new Metadata(), { deadline: Date.now() + 5_000 }, (err: ServiceError | null) => {
      client.close();
      if (err) reject(err);
      else resolve();
    });
  });
}

/**
 * Watches every given replica separately and records, for each ring epoch seen anywhere, the ring
 * it carried: two different rings under one epoch is a fork.
 */
export class EpochRecorder {
  private readonly rings = new Map<number, string>();
  readonly forks: string[] = [];
  private readonly clients: ClusterViewClient[] = [];

  watch(address: string): ClusterViewClient {
    const c = new ClusterViewClient({ seeds: [address], watcherId: `recorder-${address}`, role: 'anti-entropy', backoff: { initialMs: 50, maxMs: 300 } });
    c.onChange(({ view }) => {
      const ring = JSON.stringify(view.ring.snapshot.members);
      const known = this.rings.get(view.ring.epoch);
      if (known === undefined) this.rings.set(view.ring.epoch, ring);
      else if (known !== ring) this.forks.push(`epoch ${view.ring.epoch}: ${known} vs ${ring} (from ${address})`);
    });
    c.start();
    this.clients.push(c);
    return c;
  }

  /** Every epoch seen, ascending. */
  epochs(): number[] {
    return [...this.rings.keys()].sort((a, b) => a - b);
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
