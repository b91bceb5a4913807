import { advertiseSetting, seedsSetting, zoneSetting } from '@quorumkv/cluster-view';
import { hintThrottleSetting, hintWindowSetting, natsSetting } from '@quorumkv/hints';
import { batchReceiveLimit, hostPort, setting, tlsSettings, type ConfigOf } from '@quorumkv/service-kit';

/**
 * The storage node's settings, declared once: flags, environment variables, defaults and the
 * `--help` text all come from this table.
 */
export const storageNodeSettings = {
  id: {
    ...setting.string('--id', 'QKV_STORAGE_ID', '', 'Node identity on the ring and in version dots (e.g. node-1)'),
    defaultText: '(required)',
  },
  listen: hostPort('--listen', 'QKV_STORAGE_LISTEN', '127.0.0.1:7101', 'gRPC listen address (port 0 picks a free port)'),
  metricsListen: hostPort('--metrics-listen', 'QKV_STORAGE_METRICS_LISTEN', '127.0.0.1:0', 'Prometheus /metrics listen address (port 0 picks a free port; the listening line logs the URL)'),
  dataDir: {
    ...setting.string('--data-dir', 'QKV_STORAGE_DATA_DIR', '', 'LevelDB directory; one node per directory'),
    defaultText: './.qkv-data/<id>',
  },
  sync: setting.bool(
    '--sync',
    'QKV_STORAGE_SYNC',
    false,
    'fsync every write batch before acknowledging: survives power loss, costs throughput (kill -9 is safe either way)',
  ),
  maxSiblings: setting.int('--max-siblings', 'QKV_STORAGE_MAX_SIBLINGS', 64, 'Refuse a write that would leave a key with more live siblings', 1, 100_000),
  siblingWarn: setting.int('--sibling-warn', 'QKV_STORAGE_SIBLING_WARN', 16, 'Log a warning when a key holds more live siblings', 1, 100_000),
  maxMergedSiblings: {
    ...setting.int(
      '--max-merged-siblings',
      'QKV_STORAGE_MAX_MERGED_SIBLINGS',
      0,
      'Refuse replicated data (a merge) that would leave a key with more live siblings; keep at least N x --max-siblings',
      0,
      1_000_000,
    ),
    defaultText: '4 x --max-siblings',
  },
  maxClockEntries: setting.int('--max-clock-entries', 'QKV_STORAGE_MAX_CLOCK_ENTRIES', 10, 'Prune causal contexts to this many entries, oldest first', 1, 10_000),
  maxKeyBytes: setting.int('--max-key-bytes', 'QKV_STORAGE_MAX_KEY_BYTES', 1024, 'Largest key accepted', 1, 64 * 1024),
  maxValueBytes: setting.int('--max-value-bytes', 'QKV_STORAGE_MAX_VALUE_BYTES', 10 * 1024, 'Largest value accepted', 0, 8 * 1024 * 1024),
  dedupWindowMs: setting.int(
    '--dedup-window-ms',
    'QKV_STORAGE_DEDUP_WINDOW_MS',
    600_000,
    'How long a key remembers the request id of a write, so a retry of it is not applied twice (0: not at all)',
    0,
    7 * 24 * 3_600_000,
  ),
  dedupPerKey: setting.int('--dedup-per-key', 'QKV_STORAGE_DEDUP_PER_KEY', 16, 'Most request ids one key remembers, the newest (0: none, no de-duplication)', 0, 1_000),
  seeds: {
    ...seedsSetting('QKV_STORAGE_SEEDS'),
    description:
      'Membership service addresses, HOST:PORT[,HOST:PORT…]: the node gossips, follows the ring, joins it (see --no-auto-join), receives the ranges it gains and drops those it releases. Without it the node runs alone, outside any ring (single-node tests)',
    defaultText: '(none: no ring)',
  },
  zone: zoneSetting('QKV_STORAGE_ZONE'),
  nats: natsSetting('QKV_STORAGE_NATS'),
  hintWindow: hintWindowSetting('QKV_STORAGE_HINT_WINDOW'),
  hintThrottle: hintThrottleSetting('QKV_STORAGE_HINT_THROTTLE'),
  noAutoJoin: setting.bool(
    '--no-auto-join',
    'QKV_STORAGE_NO_AUTO_JOIN',
    false,
    'With --seeds: follow the ring but do not join it by itself; an operator adds it with `qkv cluster join ID ADDR`',
  ),
  advertise: advertiseSetting('QKV_STORAGE_ADVERTISE'),
  merkleTrees: setting.bool(
    '--merkle-trees',
    'QKV_STORAGE_MERKLE_TREES',
    true,
    'Keep a Merkle tree per replicated ring arc for anti-entropy (--merkle-trees=false: none, and no TreeService; for measuring their cost)',
  ),
  treeRebuildKeysPerSecond: setting.int(
    '--tree-rebuild-keys-per-second',
    'QKV_STORAGE_TREE_REBUILD_KEYS_PER_SECOND',
    50_000,
    'Keys per second a Merkle tree build or verification reads, so it never starves foreground traffic',
    1,
    100_000_000,
  ),
  treeVerifyIntervalMs: {
    ...setting.int(
      '--tree-verify-interval-ms',
      'QKV_STORAGE_TREE_VERIFY_INTERVAL_MS',
      7 * 24 * 3_600_000,
      'How often the Merkle trees are rebuilt from the data records and compared (drift is counted); 0: never',
      0,
      365 * 24 * 3_600_000,
    ),
    defaultText: '604800000 (a week)',
  },
  graceMs: setting.int('--grace-ms', 'QKV_STORAGE_GRACE_MS', 10_000, 'On SIGTERM, how long calls in flight may take before they are cut', 0, 600_000),
  // Mutual TLS: client certificates are always required on a storage node's port.
  ...tlsSettings('QKV_STORAGE'),
};

/** Values read from {@link storageNodeSettings}. */
export type StorageNodeConfig = ConfigOf<typeof storageNodeSettings>;

/** Bytes one clock entry takes at most on the wire: a node id (64) and two varints, with tags. */
const CLOCK_ENTRY_BYTES = 96;

/**
 * The largest request message the node accepts, from its own bounds. The largest request is a
 * merge carrying a whole version set, which a minting node bounds by `--max-siblings` versions of
 * at most `--max-value-bytes` with at most `--max-clock-entries` clock entries each; twice that,
 * because read repair merges the union of what several replicas held. Coordinators batch
 * requests up to 1 MiB, so a message may pass that by one such request.
 */
export function replicaReceiveLimit(config: Pick<StorageNodeConfig, 'maxKeyBytes' | 'maxValueBytes' | 'maxSiblings' | 'maxClockEntries'>): number {
  const version = config.maxValueBytes + config.maxClockEntries * CLOCK_ENTRY_BYTES + CLOCK_ENTRY_BYTES;
  return batchReceiveLimit(config.maxKeyBytes + 2 * config.maxSiblings * version);
}
