/**
 * What the ring schedules ask of the cluster besides processes: wait until the committed ring
 * (the membership service's, as a Watch shows it) is settled the way they need, decommission a
 * node (`qkv cluster leave`), and repair one node's ranges and wait for the pass to finish
 * (`qkv repair --node`) — through the same clients the `qkv` command uses.
 */
import { AntiEntropyClient, MembershipClient } from '@quorumkv/client';
import { ClusterViewClient } from '@quorumkv/cluster-view';
import type { RingView } from '@quorumkv/ring';

/**
 * Resolves with the ring once nothing is moving and `check` holds of it.
 * @throws after `timeoutMs`, saying what the ring looked like last.
 */
export async function ringSettles(membership: string, check: (ring: RingView) => boolean, timeoutMs: number): Promise<RingView> {
  const view = new ClusterViewClient({ seeds: [membership], watcherId: 'faults', role: 'anti-entropy', backoff: { initialMs: 50, maxMs: 500 } });
  let last = 'no ring yet';
  try {
    return await new Promise<RingView>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the ring did not settle within ${timeoutMs} ms; last seen: ${last}`)), timeoutMs);
      view.onChange(({ view: v }) => {
        const ring = v.ring;
        last = `epoch ${ring.epoch}, ${ring.changesPending ? 'changes pending' : 'settled'}, members ${ring.allMembers().map((m) => `${m.id}:${m.state}`).join(' ')}`;
        if (!ring.changesPending && check(ring)) {
          clearTimeout(timer);
          resolve(ring);
        }
      });
      view.start();
    });
  } finally {
    view.close();
  }
}

/** Whether `id` is a NORMAL member of the ring. */
export function isNormal(ring: RingView, id: string): boolean {
  return ring.member(id)?.state === 'normal';
}

/** Decommissions `id` (its ranges stream to their new owners, then it is LEFT), as `qkv cluster leave` does. */
export async function decommission(membership: string, id: string): Promise<void> {
  const client = new MembershipClient({ address: membership, deadlineMs: 10_000 });
  try {
    await client.leave(id);
  } finally {
    client.close();
  }
}

/** What repairing a node took: passes started, and keys repaired over them. */
export interface NodeRepair {
  readonly passes: number;
  readonly keysRepaired: number;
}

/**
 * Repairs `node`'s ranges as `qkv repair --node` does, and waits until a pass over them finished
 * with every exchange done: a pass whose exchanges failed (a node just restarted still builds its
 * trees, and answers UNAVAILABLE meanwhile) is followed by another, until `timeoutMs`.
 */
export async function repairNode(antiEntropy: string, node: string, timeoutMs: number): Promise<NodeRepair> {
  const client = new AntiEntropyClient({ address: antiEntropy, deadlineMs: 10_000 });
  const until = performance.now() + timeoutMs;
  let passes = 0;
  let keysRepaired = 0;
  try {
    for (;;) {
      const { passId } = await client.repair({ node });
      passes++;
      for (;;) {
        const status = await client.status();
        const pass = [status.last, ...status.running].find((p) => p?.id === passId);
        if (pass !== undefined && pass.finishedAtMs > 0) {
          keysRepaired += pass.keysRepaired;
          if (pass.exchangesFailed === 0 && pass.exchangesTotal > 0) return { passes, keysRepaired };
          break;
        }
        if (performance.now() > until) throw new Error(`the repair pass ${passId} of ${node} did not finish within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
      if (performance.now() > until) throw new Error(`no repair pass of ${node} finished without failed exchanges within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  } finally {
    client.close();
  }
}
