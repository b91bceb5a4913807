/**
 * The membership service's metrics: the ring epoch and state version, who is claimant, members
 * by role and liveness, changes committed, gossip suspicions and refutations, and the data moving
 * for the pending epoch. Gauges are read at scrape time from `MembershipGauges`.
 */
import type { ClusterMember } from '@quorumkv/cluster-view';
import type { MemberEvent, ProtocolEvent } from '@quorumkv/gossip';
import { createServiceMetrics, metricSpecs, type ServiceMetrics } from '@quorumkv/service-kit';
import type { Counter } from 'prom-client';
import type { ClusterState } from './cluster-state.js';

/** What the gauges read at scrape time. */
export interface MembershipGauges {
  state(): ClusterState;
  isClaimant(): boolean;
  members(): readonly ClusterMember[];
  /** Ranges not complete, bytes left and seconds since the last progress, for the pending epoch. */
  transfers(): { rangesPending: number; bytesLeft: number; stalledSeconds: number };
}

/** The counters the service bumps as things happen. */
export interface MembershipMetrics {
  readonly service: ServiceMetrics;
  readonly changes: Counter<'kind'>;
  readonly transferBytes: Counter;
  readonly transferKeys: Counter;
  /** Counts a gossip member event (suspicions, refutations, downs). */
  memberEvent(event: MemberEvent): void;
  /** Counts one of this replica's own protocol decisions. */
  protocolEvent(event: ProtocolEvent): void;
}

/** Registers every membership metric on a new process registry. */
export function createMembershipMetrics(gauges: MembershipGauges): MembershipMetrics {
  const service = createServiceMetrics();
  service.gauge(metricSpecs.membershipRingEpoch, () => gauges.state().ring.epoch);
  service.gauge(metricSpecs.membershipStateVersion, () => gauges.state().version);
  service.gauge(metricSpecs.membershipClaimant, () => (gauges.isClaimant() ? 1 : 0));
  service.labelledGauge(metricSpecs.membershipMembers, () => {
    const state = gauges.state();
    const byId = new Map(gauges.members().map((m) => [m.id, m]));
    const counts = new Map<string, { labels: { role: string; liveness: string }; value: number }>();
    const count = (role: string, liveness: string): void => {
      const key = `${role}/${liveness}`;
      const entry = counts.get(key) ?? { labels: { role, liveness }, value: 0 };
      entry.value += 1;
      counts.set(key, entry);
    };
    // Storage: the ring's nodes (a removed node stays `down` in gossip for a day; it is LEFT in the ring).
    for (const rm of state.ring.members) if (rm.state !== 'left') count('storage', byId.get(rm.id)?.liveness ?? 'down');
    const inRing = new Set(state.ring.members.map((m) => m.id));
    for (const m of byId.values()) if (!inRing.has(m.id) && m.role !== '' && m.role !== 'storage' && m.liveness !== 'left') count(m.role, m.liveness);
    return [...counts.values()];
  });
  service.labelledGauge(metricSpecs.membershipRingMembers, () =>
    (['joining', 'normal', 'leaving', 'left'] as const).map((s) => ({ labels: { state: s }, value: gauges.state().ring.members.filter((m) => m.state === s).length })),
  );
  service.gauge(metricSpecs.membershipTransferRangesPending, () => gauges.transfers().rangesPending);
  service.gauge(metricSpecs.membershipTransferBytesLeft, () => gauges.transfers().bytesLeft);
  service.gauge(metricSpecs.membershipTransferStalled, () => gauges.transfers().stalledSeconds);
  const suspicions = service.counter(metricSpecs.gossipSuspicions);
  const refutations = service.counter(metricSpecs.gossipRefutations);
  const downs = service.counter(metricSpecs.gossipDowns);
  const protocol = service.counter(metricSpecs.gossipProtocolEvents);
  return {
    service,
    changes: service.counter(metricSpecs.membershipChanges),
    transferBytes: service.counter(metricSpecs.membershipTransferBytes),
    transferKeys: service.counter(metricSpecs.membershipTransferKeys),
    memberEvent(e) {
      const role = e.member.meta.role === '' ? 'unknown' : e.member.meta.role;
      if (e.type === 'suspect') suspicions.inc({ role });
      else if (e.type === 'down') downs.inc({ role });
      else if (e.type === 'alive' && (e.previous === 'suspect' || e.previous === 'down')) refutations.inc({ role });
    },
    protocolEvent(e) {
      protocol.inc({ type: e.type });
    },
  };
}
