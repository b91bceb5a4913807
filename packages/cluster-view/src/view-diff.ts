import type { ClusterMember } from './cluster-view.js';
import type { ClusterSettings } from './ring-codec.js';

/** Whether two settings are the same. */
export function sameSettings(a: ClusterSettings, b: ClusterSettings): boolean {
  return a.streamThroughputBytesPerS === b.streamThroughputBytesPerS;
}

/** Whether two member lists say the same about the same members (in any order). */
export function sameMembers(a: readonly ClusterMember[], b: readonly ClusterMember[]): boolean {
  if (a.length !== b.length) return false;
  const byId = new Map(b.map((m) => [m.id, m]));
  return a.every((m) => {
    const o = byId.get(m.id);
    return (
      o !== undefined &&
      o.address === m.address &&
      o.role === m.role &&
      o.zone === m.zone &&
      o.liveness === m.liveness &&
      o.incarnation === m.incarnation
    );
  });
}
