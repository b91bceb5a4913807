import { readFileSync } from 'node:fs';
import { ContextKeysError, parseContextKeys, type ContextKeySet } from '@quorumkv/vclock';
import { advertiseSetting, seedsSetting, zoneSetting } from '@quorumkv/cluster-view';
import { hintWindowSetting, natsSetting } from '@quorumkv/hints';
import {
  batchReceiveLimit,
  clientCertificateSetting,
  ConfigError,
  formatHelp,
  hostPort,
  parseHostPort,
  readConfig,
  setting,
  tlsSettings,
  type ConfigOf,
  type ReadConfigOptions,
  type SettingSpec,
} from '@quorumkv/service-kit';

const rateLimiterSetting: SettingSpec<string> = {
  flag: '--rate-limiter',
  env: 'QKV_COORDINATOR_RATE_LIMITER',
  description: 'Rate limit service HOST:PORT asked before every KeyValueService call (empty: no rate limiting)',
  default: '',
  defaultText: '(none)',
  parse: (raw) => (raw.trim() === '' ? '' : parseHostPort(raw)),
};

const CONTEXT_KEYS_FLAG = '--context-keys-file';

const contextKeysFileSetting: SettingSpec<string> = {
  flag: CONTEXT_KEYS_FLAG,
  env: 'QKV_COORDINATOR_CONTEXT_KEYS_FILE',
  description:
    'JSON file of the cluster secrets that sign causal contexts, the same on every coordinator: {"current":"ID","keys":{"ID":"<base64, >= 32 random bytes>",...}} (required)',
  default: '',
  defaultText: '(required)',
  parse: (raw) => raw.trim(),
};

/** What to tell an operator who gave no key file. */
const CONTEXT_KEYS_HOWTO =
  'is required: a JSON file holding the secret keys that sign the causal contexts handed to clients, the same file on every ' +
  'coordinator of the cluster, e.g. {"current":"k1","keys":{"k1":"<output of: openssl rand -base64 32>"}} (or set ' +
  'QKV_COORDINATOR_CONTEXT_KEYS_FILE; `npm start` creates one under its data folder)';

/**
 * Reads the context key file.
 * @throws ConfigError naming `--context-keys-file` when it is missing, unreadable or malformed.
 */
export function readContextKeysFile(path: string): ContextKeySet {
  if (path === '') throw new ConfigError(CONTEXT_KEYS_FLAG, CONTEXT_KEYS_HOWTO);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(CONTEXT_KEYS_FLAG, `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return parseContextKeys(text);
  } catch (err) {
    if (err instanceof ContextKeysError) throw new ConfigError(CONTEXT_KEYS_FLAG, `${path}: ${err.message}`);
    throw err;
  }
}

/** A metadata key grpc-js carries as text: lowercase, no `grpc-` prefix, no `-bin` suffix. */
const METADATA_KEY = /^[0-9a-z_.-]+$/;

/** Every setting of the coordinator, declared once; `--help` prints this table. */
export const coordinatorSettings = {
  seeds: {
    ...seedsSetting('QKV_COORDINATOR_SEEDS'),
    description:
      'Membership service addresses, HOST:PORT[,HOST:PORT…] (required): the coordinator follows the committed ring through them and gossips as a member',
  },
  contextKeysFile: contextKeysFileSetting,
  id: {
    ...setting.string('--id', 'QKV_COORDINATOR_ID', '', 'This coordinator\'s member id in the cluster gossip (unique)'),
    defaultText: '<host name>-<pid> (the pod name in Kubernetes)',
  },
  listen: hostPort('--listen', 'QKV_COORDINATOR_LISTEN', '127.0.0.1:7070', 'Address to serve KeyValueService, ClusterService and gossip on'),
  advertise: advertiseSetting('QKV_COORDINATOR_ADVERTISE'),
  zone: zoneSetting('QKV_COORDINATOR_ZONE'),
  metricsListen: hostPort('--metrics-listen', 'QKV_COORDINATOR_METRICS_LISTEN', '127.0.0.1:0', 'Prometheus /metrics listen address (port 0 picks a free port; the listening line logs the URL)'),
  replicaTimeoutMs: setting.int(
    '--replica-timeout-ms',
    'QKV_COORDINATOR_REPLICA_TIMEOUT_MS',
    1000,
    'A replica that has not answered after this long counts as a miss',
    1,
    600_000,
  ),
  ringWaitMs: setting.int(
    '--ring-wait-ms',
    'QKV_COORDINATOR_RING_WAIT_MS',
    2_000,
    'When a storage node knows a newer ring epoch, how long a request waits for this coordinator to catch up before it fails UNAVAILABLE',
    1,
    60_000,
  ),
  maxKeyBytes: setting.int('--max-key-bytes', 'QKV_COORDINATOR_MAX_KEY_BYTES', 1024, 'Largest key accepted, in bytes', 1, 1 << 20),
  maxValueBytes: setting.int('--max-value-bytes', 'QKV_COORDINATOR_MAX_VALUE_BYTES', 10240, 'Largest value accepted, in bytes', 0, 8 << 20),
  statusTimeoutMs: setting.int('--status-timeout-ms', 'QKV_COORDINATOR_STATUS_TIMEOUT_MS', 500, 'Deadline of the Stats call behind ClusterService.Status', 1, 60_000),
  graceMs: setting.int('--grace-ms', 'QKV_COORDINATOR_GRACE_MS', 10_000, 'On SIGTERM, how long calls in flight may finish before they are cut', 0, 600_000),
  maxInFlightPerCaller: setting.int(
    '--max-in-flight-per-caller',
    'QKV_COORDINATOR_MAX_IN_FLIGHT_PER_CALLER',
    128,
    'KeyValueService calls one caller (--caller-metadata-key) may have in flight; beyond, RESOURCE_EXHAUSTED with retry-after, before the rate limiter is asked',
    1,
    1_000_000,
  ),
  maxInFlightPerNode: setting.int(
    '--max-in-flight-per-node',
    'QKV_COORDINATOR_MAX_IN_FLIGHT_PER_NODE',
    256,
    'Requests in flight on one storage node\'s stream past which calls for its keys get RESOURCE_EXHAUSTED with retry-after',
    1,
    1_000_000,
  ),
  nats: natsSetting('QKV_COORDINATOR_NATS'),
  hintWindow: hintWindowSetting('QKV_COORDINATOR_HINT_WINDOW'),
  rateLimiter: rateLimiterSetting,
  rateLimitTimeoutMs: setting.int(
    '--rate-limit-timeout-ms',
    'QKV_COORDINATOR_RATE_LIMIT_TIMEOUT_MS',
    20,
    'How long a call waits for the rate limiter\'s decision before the failure mode answers',
    1,
    60_000,
  ),
  rateLimitFailureMode: setting.enumOf(
    '--rate-limit-failure-mode',
    'QKV_COORDINATOR_RATE_LIMIT_FAILURE_MODE',
    'open',
    ['open', 'closed'] as const,
    'With no decision (timeout, limiter down): serve the call (open) or refuse it RESOURCE_EXHAUSTED (closed)',
  ),
  rateLimitDomain: setting.string('--rate-limit-domain', 'QKV_COORDINATOR_RATE_LIMIT_DOMAIN', 'quorumkv', 'Rule domain the coordinator asks the rate limiter about'),
  callerMetadataKey: setting.string(
    '--caller-metadata-key',
    'QKV_COORDINATOR_CALLER_METADATA_KEY',
    'x-quorumkv-caller',
    'gRPC metadata key naming the caller for rate limiting (absent: "anonymous"); a verified client certificate\'s identity wins',
  ),
  // Mutual TLS on the client API and on the channels to storage nodes, the rate limiter and the
  // membership service. No `none`: gossip shares the port, and its peers are known only by the
  // client certificate the handshake asks for.
  ...tlsSettings('QKV_COORDINATOR'),
  tlsClientCerts: clientCertificateSetting('QKV_COORDINATOR', ['optional', 'required']),
};

/** The coordinator's settings, read and checked, with the context keys read from their file. */
export type CoordinatorConfig = ConfigOf<typeof coordinatorSettings> & {
  /** The secrets of `--context-keys-file`. */
  readonly contextKeys: ContextKeySet;
};

/** Help text for `quorumkv-coordinator --help`. */
export function coordinatorHelp(): string {
  return formatHelp(
    'quorumkv-coordinator',
    'Stateless coordinator: serves quorumkv.kv.v1.KeyValueService with tunable quorums and read repair, routing by the ring the membership service commits.',
    coordinatorSettings,
  );
}

/** What to tell an operator who still passes the static node list. */
const NODES_GONE =
  'is gone: the coordinator no longer keeps a static list of storage nodes; it follows the ring the membership service commits. ' +
  'Pass --seeds HOST:PORT (the membership service; `npm start` runs it at 127.0.0.1:7946), and start each storage node with --seeds too (it joins the ring by itself)';

/**
 * Reads flags and environment through the table, then checks what one setting alone cannot:
 * `--seeds` is required (and the old `--nodes` refused with what to do instead), the caller
 * metadata key must be a text key, a rate limiter needs a domain, and the context key file must
 * exist and hold keys.
 *
 * Why no default key: contexts must verify on every coordinator of the cluster and across
 * restarts, so a key made up at start would break clients on the next restart or the next
 * coordinator, and a key built into the code would be known to everyone — no better than the
 * checksum it replaces. A missing key is a deployment mistake, refused loudly.
 * @throws ConfigError naming the setting.
 */
export function loadCoordinatorConfig(options: ReadConfigOptions = {}): { help: true } | { help: false; config: CoordinatorConfig } {
  const argv = options.argv ?? process.argv.slice(2);
  const env = options.env ?? process.env;
  if (argv.some((a) => a === '--nodes' || a.startsWith('--nodes='))) throw new ConfigError('--nodes', NODES_GONE);
  if (env['QKV_COORDINATOR_NODES'] !== undefined) throw new ConfigError('QKV_COORDINATOR_NODES', NODES_GONE);
  const result = readConfig(coordinatorSettings, options);
  if (result.help) return result;
  const { config } = result;
  if (config.seeds.length === 0) {
    throw new ConfigError(
      '--seeds',
      'is required: give the membership service address(es) as HOST:PORT[,HOST:PORT…] (or set QKV_COORDINATOR_SEEDS); `npm start` runs it at 127.0.0.1:7946',
    );
  }
  if (!METADATA_KEY.test(config.callerMetadataKey) || config.callerMetadataKey.startsWith('grpc-') || config.callerMetadataKey.endsWith('-bin')) {
    throw new ConfigError(
      '--caller-metadata-key',
      `is "${config.callerMetadataKey}": a text metadata key is lowercase letters, digits, "-", "_" or ".", not starting with "grpc-" nor ending with "-bin"`,
    );
  }
  if (config.rateLimiter !== '' && config.rateLimitDomain.trim() === '') {
    throw new ConfigError('--rate-limit-domain', 'must not be empty when --rate-limiter is set');
  }
  return { help: false, config: { ...config, contextKeys: readContextKeysFile(config.contextKeysFile) } };
}

/**
 * A causal context as a client passes it back: at most one clock entry per storage node that
 * ever minted a version of the key (node id ≤ 64 bytes, two varints). 64 KiB is hundreds of
 * entries, far past any cluster quorumkv runs.
 */
const MAX_CONTEXT_BYTES = 64 * 1024;

/** Field tags, lengths and the small fields (r/w, consistency) of a request. */
const REQUEST_OVERHEAD_BYTES = 1024;

/**
 * The largest request message the coordinator accepts (KeyValueService and ClusterService share
 * the server): a key, a value and a context at their limits. A Put over it ends
 * RESOURCE_EXHAUSTED as soon as its length prefix arrives, never buffered.
 */
export function kvReceiveLimit(config: Pick<CoordinatorConfig, 'maxKeyBytes' | 'maxValueBytes'>): number {
  return config.maxKeyBytes + config.maxValueBytes + MAX_CONTEXT_BYTES + REQUEST_OVERHEAD_BYTES;
}

/**
 * The largest answer batch the coordinator accepts from a storage node: a read result is a whole
 * version set, bounded by the nodes' sibling limit (their default, 64: twice that for sets merged
 * from several writers) of values at most `--max-value-bytes`, and nodes batch answers up to
 * 1 MiB.
 */
export function replicaAnswerLimit(config: Pick<CoordinatorConfig, 'maxKeyBytes' | 'maxValueBytes'>): number {
  const version = config.maxValueBytes + 2 * 1024;
  return batchReceiveLimit(config.maxKeyBytes + 2 * 64 * version);
}
