/**
 * Every metric quorumkv defines, declared once: the services register them through the
 * factories in `service-metrics.ts`, the README table lists them, and the dashboard and alert
 * rules are checked against this table by a test (`deploy-files.test.ts`).
 */

/** Prometheus metric type. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A metric's name, type, help text and label names. */
export interface MetricSpec<L extends string = string, N extends string = string> {
  readonly name: N;
  readonly type: MetricType;
  readonly help: string;
  readonly labelNames: readonly L[];
}

function spec<const N extends string, const L extends string = never>(
  name: N,
  type: MetricType,
  help: string,
  labelNames: readonly L[] = [],
): MetricSpec<L, N> {
  return { name, type, help, labelNames };
}

/**
 * Request latency buckets in seconds, 100 µs to 10 s: a replica write on loopback takes well
 * under a millisecond, a quorum write a few, a slow disk or a timeout seconds. 50 ms (the p99
 * budget of the HighP99Latency alert) is a bucket edge so the alert's quantile is exact there.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** The metrics of every quorumkv service, by area. */
export const metricSpecs = {
  // Every gRPC service (recorded by the metrics server interceptor).
  grpcServerRequests: spec('quorumkv_grpc_server_requests_total', 'counter', 'gRPC calls served, by full method name and status code name.', ['method', 'code']),
  grpcServerRequestDuration: spec('quorumkv_grpc_server_request_duration_seconds', 'histogram', 'Time from receiving a unary gRPC call to sending its status, by full method name.', ['method']),
  // Coordinator: the quorum and its repairs.
  quorumFailures: spec('quorumkv_quorum_failures_total', 'counter', 'Operations that ended UNAVAILABLE because fewer than W (or R) replicas answered, by operation (get, put, delete).', ['op']),
  readRepairs: spec('quorumkv_read_repairs_total', 'counter', 'Replicas sent a newer version after a read found them stale.'),
  siblingsCreated: spec('quorumkv_siblings_created_total', 'counter', 'Writes that left a key with more concurrent versions (siblings) than before.'),
  siblingLimitRefusals: spec('quorumkv_sibling_limit_refusals_total', 'counter', 'Writes refused because the key already held the maximum number of siblings.'),
  // Storage node: the engine.
  storageKeys: spec('quorumkv_storage_keys', 'gauge', 'Keys held by this storage node (tombstones included).'),
  storageBytes: spec('quorumkv_storage_bytes', 'gauge', 'Approximate on-disk size of this storage node\'s engine.'),
  // Storage node: range transfers (a living ring) and cleanup.
  storageTransferKeys: spec('quorumkv_storage_transfer_keys_total', 'counter', 'Keys streamed by range transfers, by direction (in: received and merged here; out: served to a node gaining the range).', ['direction']),
  storageTransferBytes: spec('quorumkv_storage_transfer_bytes_total', 'counter', 'Record bytes streamed by range transfers, by direction (in, out).', ['direction']),
  storageTransferRanges: spec('quorumkv_storage_transfer_ranges', 'gauge', 'Ranges this node receives for the current ring epoch, by state (pending, complete).', ['state']),
  storageTransferThrottle: spec('quorumkv_storage_transfer_throttle_bytes_per_second', 'gauge', 'The range-transfer throttle in force (cluster setting stream_throughput_bytes_per_s).'),
  storageTransferRate: spec('quorumkv_storage_transfer_rate_bytes_per_second', 'gauge', 'Bytes per second received by range transfers over the last report interval.'),
  storageTransferRefused: spec('quorumkv_storage_transfer_refused_keys_total', 'counter', 'Transferred records this node refused to store (over a limit it is configured with).'),
  storageCleanupKeysDropped: spec('quorumkv_storage_cleanup_keys_dropped_total', 'counter', 'Keys dropped by cleanup after a commit moved their ranges to other nodes.'),
  storageRingEpoch: spec('quorumkv_storage_ring_epoch', 'gauge', 'The newest committed ring epoch this storage node knows.'),
  // Storage node: Merkle trees for anti-entropy.
  storageTreeBytes: spec('quorumkv_storage_tree_bytes', 'gauge', 'Memory held by this storage node\'s Merkle trees (one per ring arc it replicates).'),
  storageTreeArcs: spec('quorumkv_storage_tree_arcs', 'gauge', 'Ring arcs this storage node keeps a Merkle tree for, by state (built, building).', ['state']),
  storageTreeBuilds: spec('quorumkv_storage_tree_builds_total', 'counter', 'Merkle trees built from the ring-position index (start-up without trusted saved trees, ring changes, trees outgrown).'),
  storageTreeVerifications: spec('quorumkv_storage_tree_verifications_total', 'counter', 'Periodic rebuilds of every Merkle tree from the data records.'),
  storageTreeDrift: spec('quorumkv_storage_tree_drift_total', 'counter', 'Merkle trees a verification found different from the data records (and replaced): a lost update or a bug.'),
  storageTreeKeysScanned: spec('quorumkv_storage_tree_keys_scanned_total', 'counter', 'Keys read by Merkle tree builds and verifications (paced by --tree-rebuild-keys-per-second).'),
  storageTombstonesPurged: spec('quorumkv_storage_tombstones_purged_total', 'counter', 'Keys whose tombstones this storage node purged (past the grace period, held by every replica).'),
  // Anti-entropy worker.
  antiEntropyExchanges: spec('quorumkv_antientropy_exchanges_total', 'counter', 'Range and replica-pair comparisons finished, by result (in_sync, repaired, out_of_sync, building, failed).', ['result']),
  antiEntropyTreeWalks: spec('quorumkv_antientropy_tree_walks_total', 'counter', 'Comparisons whose roots differed, so the trees were walked down to the differing segments.'),
  antiEntropyKeysRepaired: spec('quorumkv_antientropy_keys_repaired_total', 'counter', 'Keys found diverged twice by an exchange (or flagged) and merged into the replicas that lacked part of them.'),
  antiEntropyTransientKeys: spec('quorumkv_antientropy_transient_keys_total', 'counter', 'Keys that differed in one look of an exchange only (writes in flight), not repaired.'),
  antiEntropyBytes: spec('quorumkv_antientropy_bytes_total', 'counter', 'Bytes of requests and answers exchanged with storage nodes, by kind (tree: summaries, branches, segment listings; repair: reads, merges, tombstone listings and purges).', ['kind']),
  antiEntropyRanges: spec('quorumkv_antientropy_ranges', 'gauge', 'Ranges of the ring by state: in_sync, out_of_sync, unknown (not compared yet on this ring), overdue (no complete exchange within 1.5 periods).', ['state']),
  antiEntropyOldestRangeAge: spec('quorumkv_antientropy_oldest_range_age_seconds', 'gauge', 'Time since the least recently exchanged range was last found in sync by every replica pair.'),
  antiEntropyPeriod: spec('quorumkv_antientropy_period_seconds', 'gauge', 'The exchange period (--period-ms): every range should be exchanged once per period.'),
  antiEntropyLastFullPass: spec('quorumkv_antientropy_last_full_pass_timestamp_seconds', 'gauge', 'When the last pass over every range and replica pair finished (Unix time; 0: none yet).'),
  antiEntropyPassProgress: spec('quorumkv_antientropy_pass_progress_ratio', 'gauge', 'Share (0-1) of the running passes\' exchanges done; 1 when none runs.'),
  antiEntropyTombstonesPurged: spec('quorumkv_antientropy_tombstones_purged_total', 'counter', 'Tombstone records purged by storage nodes on this worker\'s request, summed over replicas.'),
  antiEntropyFlaggedKeys: spec('quorumkv_antientropy_flagged_keys', 'gauge', 'Keys flagged for priority repair (FlagKeys) and not repaired yet.'),
  antiEntropyRingEpoch: spec('quorumkv_antientropy_ring_epoch', 'gauge', 'The ring epoch the anti-entropy worker follows.'),
  // Rate limiter: per-rule decisions, like Envoy ratelimit's per-key stats.
  rateLimitTotalHits: spec('quorumkv_ratelimit_total_hits_total', 'counter', 'Hits counted against a rule (a request may add more than one), by domain and rule.', ['domain', 'rule']),
  rateLimitOverLimit: spec('quorumkv_ratelimit_over_limit_total', 'counter', 'Hits over the rule\'s limit (denied unless in shadow mode), by domain and rule.', ['domain', 'rule']),
  rateLimitNearLimit: spec('quorumkv_ratelimit_near_limit_total', 'counter', 'Hits allowed within the near-limit ratio of the limit, by domain and rule.', ['domain', 'rule']),
  rateLimitWithinLimit: spec('quorumkv_ratelimit_within_limit_total', 'counter', 'Hits allowed within the rule\'s limit, by domain and rule.', ['domain', 'rule']),
  rateLimitShadowMode: spec('quorumkv_ratelimit_shadow_mode_total', 'counter', 'Hits over the limit but allowed because the rule is in shadow mode, by domain and rule.', ['domain', 'rule']),
  rateLimitConfigLoadSuccess: spec('quorumkv_ratelimit_config_load_success_total', 'counter', 'Rule configurations loaded and applied.'),
  rateLimitConfigLoadError: spec('quorumkv_ratelimit_config_load_error_total', 'counter', 'Rule configurations refused (the previous one stays in force).'),
  rateLimitFailover: spec('quorumkv_ratelimit_failover_total', 'counter', 'Decisions made without the owning replica, by failover mode (fail open, fail closed, local).', ['mode']),
  rateLimitChecks: spec('quorumkv_ratelimit_checks_total', 'counter', 'Rate-limit checks a caller made before serving, by outcome (allowed, limited, fail_open, fail_closed) and reason (decided, timeout, stream-broken, unreachable, overloaded, limiter-error).', ['outcome', 'reason']),
  rateLimitCheckTimeouts: spec('quorumkv_ratelimit_check_timeouts_total', 'counter', 'Rate-limit checks that ran out of time before a decision.'),
  // Coordinator: the ring it routes by.
  coordinatorRingEpoch: spec('quorumkv_coordinator_ring_epoch', 'gauge', 'The committed ring epoch this coordinator routes by.'),
  coordinatorReroutes: spec('quorumkv_coordinator_reroutes_total', 'counter', 'Operations routed again after a storage node refused an older ring epoch (epoch fencing), once this coordinator caught up.'),
  // Membership service: the ring, its changes, liveness and data moving.
  membershipRingEpoch: spec('quorumkv_membership_ring_epoch', 'gauge', 'The committed ring epoch this membership replica knows.'),
  membershipStateVersion: spec('quorumkv_membership_state_version', 'gauge', 'The version of the replicated cluster state (ring and settings) this replica knows.'),
  membershipClaimant: spec('quorumkv_membership_claimant', 'gauge', '1 on the membership replica that applies changes now (the claimant), 0 on the others.'),
  membershipChanges: spec('quorumkv_membership_changes_total', 'counter', 'Cluster changes this replica committed as claimant, by kind (join, leave, remove, commit, throttle).', ['kind']),
  membershipMembers: spec('quorumkv_membership_members', 'gauge', 'Members by role and liveness as this replica\'s gossip sees them (storage: the nodes of the ring, LEFT ones excluded).', ['role', 'liveness']),
  membershipRingMembers: spec('quorumkv_membership_ring_members', 'gauge', 'Storage nodes of the committed ring by state (joining, normal, leaving, left).', ['state']),
  membershipTransferBytes: spec('quorumkv_membership_transfer_bytes_total', 'counter', 'Bytes of ranges streamed to new owners, as the receiving nodes reported them.'),
  membershipTransferKeys: spec('quorumkv_membership_transfer_keys_total', 'counter', 'Keys of ranges streamed to new owners, as the receiving nodes reported them.'),
  membershipTransferRangesPending: spec('quorumkv_membership_transfer_ranges_pending', 'gauge', 'Ranges of the pending ring epoch not reported complete yet.'),
  membershipTransferBytesLeft: spec('quorumkv_membership_transfer_bytes_left', 'gauge', 'Bytes the receiving nodes estimate are left to stream for the pending ring epoch.'),
  membershipTransferStalled: spec('quorumkv_membership_transfer_stalled_seconds', 'gauge', 'Seconds since a transfer of the pending ring epoch last made progress (0 when nothing is pending).'),
  gossipSuspicions: spec('quorumkv_gossip_suspicions_total', 'counter', 'Members this replica\'s gossip saw become suspect, by role.', ['role']),
  gossipRefutations: spec('quorumkv_gossip_refutations_total', 'counter', 'Suspect or down members seen alive again (a refuted suspicion, or a restart), by role.', ['role']),
  gossipDowns: spec('quorumkv_gossip_downs_total', 'counter', 'Members this replica\'s gossip saw declared down, by role.', ['role']),
  gossipProtocolEvents: spec('quorumkv_gossip_protocol_events_total', 'counter', 'This process\'s own gossip decisions, by type (suspicion-raised, declared-down, refuted, stalled).', ['type']),
  // Hinted handoff: the queue as the membership service sees it, each node's delivery, the coordinator's writes.
  hintsPending: spec('quorumkv_hints_pending', 'gauge', 'Hints waiting in JetStream for a storage node (membership service, refreshed every 5 s).', ['node']),
  hintsOldestAge: spec('quorumkv_hints_oldest_age_seconds', 'gauge', 'Age of the oldest hint waiting for a storage node (0 when none waits).', ['node']),
  hintsNodeUp: spec('quorumkv_hints_node_up', 'gauge', '1 when gossip holds the storage node alive or suspect, 0 when down (for alerts on hints piling up for a node that is up).', ['node']),
  hintsExpired: spec('quorumkv_hints_expired_total', 'counter', 'Hints for a storage node that the hint window dropped undelivered (seen by this membership replica).', ['node']),
  hintsDelivered: spec('quorumkv_hints_delivered_total', 'counter', 'Hints this storage node merged and acknowledged.'),
  hintsDeliveredBytes: spec('quorumkv_hints_delivered_bytes_total', 'counter', 'Bytes of the hints this storage node merged and acknowledged.'),
  hintsUndeliverable: spec('quorumkv_hints_undeliverable_total', 'counter', 'Hints this storage node retired after every attempt failed (their keys flagged for anti-entropy).'),
  hintStandInCopies: spec('quorumkv_hint_stand_in_copies', 'gauge', 'Copies this storage node keeps as a stand-in for other nodes.'),
  hintsWritten: spec('quorumkv_hints_written_total', 'counter', 'Hints the coordinator stored in JetStream before acknowledging a write, one per primary that missed it.'),
  standInWrites: spec('quorumkv_stand_in_writes_total', 'counter', 'Writes the coordinator acknowledged with at least one stand-in counted toward W.'),
  unhintedWrites: spec('quorumkv_unhinted_replicas_total', 'counter', 'Primaries that missed a write and got no hint, by reason (off, unreachable, window).', ['reason']),
  admissionRefusals: spec('quorumkv_admission_refusals_total', 'counter', 'Calls the coordinator shed with RESOURCE_EXHAUSTED because too much was in flight, by reason (caller: the caller\'s bound; node: a replica stream\'s bound).', ['reason']),
} as const;

/** The metric names, for services and tests: `metricNames.quorumFailures` is `quorumkv_quorum_failures_total`. */
export const metricNames = Object.fromEntries(Object.entries(metricSpecs).map(([k, v]) => [k, v.name])) as {
  readonly [K in keyof typeof metricSpecs]: (typeof metricSpecs)[K]['name'];
};
