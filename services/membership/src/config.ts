import { advertiseSetting, parseSeeds, zoneSetting } from '@quorumkv/cluster-view';
import { ConfigError, formatHelp, hostPort, readConfig, setting, type ConfigOf, type ReadConfigOptions, type SettingSpec } from '@quorumkv/service-kit';

const peersSetting: SettingSpec<string[]> = {
  flag: '--peers',
  env: 'QKV_MEMBERSHIP_PEERS',
  description:
    'The other membership replicas, HOST:PORT[,…] (every replica lists the others; a change needs a majority of them all). Empty: this replica alone is the majority',
  default: [],
  defaultText: '(none: one replica)',
  parse: parseSeeds,
};

/**
 * The membership service's settings, declared once: flags, environment variables, defaults and
 * the `--help` text all come from this table.
 */
export const membershipSettings = {
  id: setting.string('--id', 'QKV_MEMBERSHIP_ID', 'membership-1', 'This replica\'s id, unique in the cluster; the lowest live id is the claimant'),
  listen: hostPort('--listen', 'QKV_MEMBERSHIP_LISTEN', '127.0.0.1:7946', 'gRPC address: MembershipService, the replicas\' Paxos and gossip (port 0 picks a free port)'),
  advertise: advertiseSetting('QKV_MEMBERSHIP_ADVERTISE'),
  metricsListen: hostPort('--metrics-listen', 'QKV_MEMBERSHIP_METRICS_LISTEN', '127.0.0.1:0', 'Prometheus /metrics listen address (port 0 picks a free port; the listening line logs the URL)'),
  peers: peersSetting,
  dataDir: {
    ...setting.string('--data-dir', 'QKV_MEMBERSHIP_DATA_DIR', '', 'Folder of the replica\'s state (the chosen ring and its Paxos promises), written with fsync'),
    defaultText: './.qkv-data/<id>',
  },
  zone: zoneSetting('QKV_MEMBERSHIP_ZONE'),
  replicationFactor: setting.int(
    '--replication-factor',
    'QKV_MEMBERSHIP_REPLICATION_FACTOR',
    3,
    'N: replicas per key, fixed when the cluster state is first created (later values are ignored with a warning)',
    1,
    64,
  ),
  vnodes: setting.int('--vnodes', 'QKV_MEMBERSHIP_VNODES', 128, 'Virtual nodes per storage node, fixed when the cluster state is first created', 1, 4096),
  statsTimeoutMs: setting.int('--stats-timeout-ms', 'QKV_MEMBERSHIP_STATS_TIMEOUT_MS', 500, 'Deadline of each storage node\'s Stats call behind Status', 1, 60_000),
  peerTimeoutMs: setting.int('--peer-timeout-ms', 'QKV_MEMBERSHIP_PEER_TIMEOUT_MS', 1_000, 'How long a Paxos phase (or a call forwarded to the claimant) waits for other replicas', 10, 60_000),
  graceMs: setting.int('--grace-ms', 'QKV_MEMBERSHIP_GRACE_MS', 5_000, 'On SIGTERM, how long calls in flight may take before they are cut', 0, 600_000),
};

/** Values read from {@link membershipSettings}. */
export type MembershipConfig = ConfigOf<typeof membershipSettings>;

/** `quorumkv-membership --help`. */
export function membershipHelp(): string {
  return formatHelp(
    'quorumkv-membership',
    'The membership service: the committed ring (Paxos among replicas), gossip liveness, and the cluster commands.',
    membershipSettings,
  );
}

/**
 * Reads flags and environment through the table, then checks what one setting alone cannot.
 * @throws ConfigError naming the setting.
 */
export function loadMembershipConfig(options: ReadConfigOptions = {}): { help: true } | { help: false; config: MembershipConfig } {
  const result = readConfig(membershipSettings, options);
  if (result.help) return result;
  const { config } = result;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(config.id)) throw new ConfigError('--id', `use 1-64 letters, digits, '.', '_' or '-', got "${config.id}"`);
  if (config.peers.includes(config.listen) || (config.advertise !== '' && config.peers.includes(config.advertise))) {
    throw new ConfigError('--peers', 'lists this replica\'s own address: give only the other replicas');
  }
  return result;
}
