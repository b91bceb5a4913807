import { advertiseSetting, parseSeeds, zoneSetting } from '@quorumkv/cluster-view';
import { hintWindowSetting, natsSetting } from '@quorumkv/hints';
import { ConfigError, formatHelp, hostPort, readConfig, setting, tlsSettings, type ConfigOf, type ReadConfigOptions, type SettingSpec } from '@quorumkv/service-kit';

const peersSetting: SettingSpec<string[]> = {
  flag: '--peers',
  env: 'QKV_MEMBERSHIP_PEERS',
  description:
    'Every membership replica, HOST:PORT[,…] (the same list on each; this replica\'s own --advertise or --listen address in it is skipped). A change needs a majority of them all. Empty: this replica alone is the majority',
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
  nats: natsSetting('QKV_MEMBERSHIP_NATS'),
  hintWindow: hintWindowSetting('QKV_MEMBERSHIP_HINT_WINDOW'),
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
  // Mutual TLS: client certificates are always required on the membership port (gossip, Paxos,
  // Watch and the cluster commands all identify their caller).
  ...tlsSettings('QKV_MEMBERSHIP'),
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
  // One list for every replica (a StatefulSet gives all its pods the same settings): this
  // replica's own address in it is not a peer.
  const own = new Set([config.listen, config.advertise].filter((a) => a !== ''));
  return { help: false, config: { ...config, peers: config.peers.filter((p) => !own.has(p)) } };
}

/** Storage nodes (LEFT ones included) a ring record is sized for. */
export const MAX_RING_MEMBERS = 4096;

/**
 * The largest message a membership replica accepts: a Paxos value (the whole ring: each member's
 * id, address, zone and a few fields, at most {@link MAX_RING_MEMBERS}), a transfer report (a
 * joining node gains about vnodes x N arcs, each with its source ids — several for a removed
 * node — and six numbers; twice that for slack), or a gossip full-state sync — whichever is
 * largest.
 */
export function membershipReceiveLimit(config: Pick<MembershipConfig, 'vnodes' | 'replicationFactor'>, gossipLimit: number): number {
  const ring = MAX_RING_MEMBERS * (64 + 256 + 64 + 32);
  const report = config.vnodes * config.replicationFactor * 2 * ((config.replicationFactor + 1) * 64 + 64);
  return Math.max(ring, report, gossipLimit) + 64 * 1024;
}
