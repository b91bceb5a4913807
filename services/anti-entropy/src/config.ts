import { advertiseSetting, seedsSetting, zoneSetting } from '@quorumkv/cluster-view';
import { ConfigError, hostPort, setting, tlsSettings, type ConfigOf } from '@quorumkv/service-kit';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The anti-entropy worker's settings, declared once: flags, environment variables, defaults and
 * the `--help` text all come from this table.
 */
export const antiEntropySettings = {
  id: setting.string('--id', 'QKV_AE_ID', 'anti-entropy', 'This worker\'s name in membership and in logs'),
  listen: hostPort('--listen', 'QKV_AE_LISTEN', '127.0.0.1:7180', 'gRPC listen address of the admin API (qkv repair); port 0 picks a free port'),
  metricsListen: hostPort('--metrics-listen', 'QKV_AE_METRICS_LISTEN', '127.0.0.1:0', 'Prometheus /metrics listen address (port 0 picks a free port; the listening line logs the URL)'),
  seeds: seedsSetting('QKV_AE_SEEDS', ['127.0.0.1:7946']),
  zone: zoneSetting('QKV_AE_ZONE'),
  advertise: advertiseSetting('QKV_AE_ADVERTISE'),
  periodMs: setting.int('--period-ms', 'QKV_AE_PERIOD_MS', HOUR_MS, 'Time between two passes over every range and replica pair', 1_000, 30 * DAY_MS),
  tombstoneGraceMs: setting.int(
    '--tombstone-grace-ms',
    'QKV_AE_TOMBSTONE_GRACE_MS',
    10 * DAY_MS,
    'A tombstone is purged once older than this and every replica of its range holds it; must be longer than --period-ms',
    1_000,
    3_650 * DAY_MS,
  ),
  purgeTombstones: setting.bool('--purge-tombstones', 'QKV_AE_PURGE_TOMBSTONES', true, 'Purge tombstones past the grace period once every replica holds them'),
  purgeIntervalMs: setting.int(
    '--purge-interval-ms',
    'QKV_AE_PURGE_INTERVAL_MS',
    DAY_MS,
    'Least time between two tombstone purges (each reads every key of the ranges it covers on every replica); a purge follows a pass',
    0,
    365 * DAY_MS,
  ),
  exchangesPerSecond: setting.int('--exchanges-per-second', 'QKV_AE_EXCHANGES_PER_SECOND', 50, 'Range exchanges that walk down a tree, per second at most (changeable at run time)', 1, 100_000),
  keysPerSecond: setting.int('--keys-per-second', 'QKV_AE_KEYS_PER_SECOND', 10_000, 'Keys repaired (read and merged) per second at most (changeable at run time)', 1, 10_000_000),
  maxExchangesPerNode: setting.int('--max-exchanges-per-node', 'QKV_AE_MAX_EXCHANGES_PER_NODE', 1, 'Exchanges one storage node takes part in at the same time', 1, 64),
  confirmPauseMs: setting.int(
    '--confirm-pause-ms',
    'QKV_AE_CONFIRM_PAUSE_MS',
    2_000,
    'Wait between the two looks at differing keys: longer than a write takes to reach every replica, so writes in flight are not repaired',
    0,
    600_000,
  ),
  callTimeoutMs: setting.int('--call-timeout-ms', 'QKV_AE_CALL_TIMEOUT_MS', 10_000, 'Timeout of each call to a storage node', 100, 600_000),
  slowCallMs: setting.int('--slow-call-ms', 'QKV_AE_SLOW_CALL_MS', 1_000, 'A storage node answering slower than this is given more time between calls', 1, 600_000),
  backoffMaxMs: setting.int('--backoff-max-ms', 'QKV_AE_BACKOFF_MAX_MS', 60_000, 'Longest back-off of a storage node after errors', 100, 3_600_000),
  repairConcurrency: setting.int('--repair-concurrency', 'QKV_AE_REPAIR_CONCURRENCY', 128, 'Keys repaired at the same time (reads and merges in flight)', 1, 4_096),
  graceMs: setting.int('--grace-ms', 'QKV_AE_GRACE_MS', 5_000, 'On SIGTERM, how long a running exchange may take before it is cut', 0, 600_000),
  // Mutual TLS: client certificates are always required on the worker's port.
  ...tlsSettings('QKV_AE'),
};

/** Values read from {@link antiEntropySettings}. */
export type AntiEntropyConfig = ConfigOf<typeof antiEntropySettings>;

/**
 * Checks what one setting alone cannot: that there are seeds, and that the tombstone grace period
 * is longer than the exchange period.
 *
 * Why the grace period must be longer: a replica that missed a delete learns the tombstone from an
 * exchange, and exchanges come once per period; a tombstone purged sooner could be gone from the
 * other replicas before the stale one ever heard of it. (The purge also requires every replica to
 * hold the tombstone, which covers a replica that is down; the grace period covers the writes
 * still on their way: hints, and versions replicated late.)
 * @throws ConfigError naming both settings.
 */
export function checkAntiEntropyConfig(config: AntiEntropyConfig): AntiEntropyConfig {
  if (config.seeds.length === 0) throw new ConfigError('--seeds', 'at least one membership address is needed: the worker follows the ring it serves');
  if (config.tombstoneGraceMs <= config.periodMs) {
    throw new ConfigError(
      '--tombstone-grace-ms',
      `${config.tombstoneGraceMs} ms is not longer than --period-ms (${config.periodMs} ms): a replica that missed a delete would learn of it only after the other replicas purged it, and bring the key back`,
    );
  }
  return config;
}
