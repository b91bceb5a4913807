import { hostname } from 'node:os';
import { advertiseSetting, seedsSetting, zoneSetting } from '@quorumkv/cluster-view';
import { batchReceiveLimit, clientCertificateSetting, hostPort, parseHostPort, setting, tlsSettings, type ConfigOf, type SettingSpec } from '@quorumkv/service-kit';

/** One rate-limiter replica: its id and the address its peers dial. */
export interface ReplicaAddress {
  readonly id: string;
  readonly address: string;
}

/** What to answer when a counter key's owner cannot be reached. */
export type FailureMode = 'open' | 'closed';

/** Which rate-limit headers to add to responses. */
/**
 * Response headers to add: none; `draft` (IETF RateLimit-Policy/RateLimit); `x-ratelimit`
 * (X-Ratelimit-Limit/-Remaining/-Retry-After, the headers of the rate limiter design in *System
 * Design Interview*); or `all` of them.
 */
export type HeaderMode = 'none' | 'draft' | 'x-ratelimit' | 'all';

const HEADER_MODES: readonly HeaderMode[] = ['none', 'draft', 'x-ratelimit', 'all'];

/** `--headers`: a {@link HeaderMode}; `notes`, its first name, is still read as `x-ratelimit`. */
function headerMode(raw: string): HeaderMode {
  if (raw === 'notes') return 'x-ratelimit';
  const mode = HEADER_MODES.find((m) => m === raw);
  if (mode === undefined) throw new Error(`expected one of ${HEADER_MODES.join(', ')}, got "${raw}"`);
  return mode;
}

/**
 * Parses `rl-1=127.0.0.1:8081,rl-2=127.0.0.1:8082`: ids are unique, addresses are HOST:PORT.
 * @throws Error naming the bad entry (readConfig adds the setting's name).
 */
export function parseReplicas(raw: string): ReplicaAddress[] {
  const out: ReplicaAddress[] = [];
  const seen = new Set<string>();
  for (const part of raw.split(',').map((s) => s.trim())) {
    if (part.length === 0) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`expected ID=HOST:PORT, got "${part}"`);
    const id = part.slice(0, eq).trim();
    const address = parseHostPort(part.slice(eq + 1));
    if (seen.has(id)) throw new Error(`replica id "${id}" appears twice`);
    seen.add(id);
    out.push({ id, address });
  }
  return out;
}

const replicas: SettingSpec<ReplicaAddress[]> = {
  flag: '--replicas',
  env: 'QKV_RL_REPLICAS',
  description:
    'Static mode, without a membership service (e.g. a rate limiter for Envoy alone): every replica as ID=HOST:PORT, comma-separated (this one included); ' +
    'counter keys are spread over them by consistent hashing and never move. Not with --seeds. Neither: this replica owns every key',
  default: [],
  defaultText: '(none)',
  parse: parseReplicas,
};

/**
 * The rate limiter's settings, declared once: flags, environment variables, defaults and the
 * `--help` text all come from this table.
 */
export const rateLimiterSettings = {
  rules: setting.string('--rules', 'QKV_RL_RULES', '', 'Folder of YAML rule files (required); watched and hot-reloaded'),
  listen: hostPort('--listen', 'QKV_RL_LISTEN', '127.0.0.1:8081', 'gRPC listen address (Envoy usually dials 8081; port 0 picks a free port)'),
  metricsListen: hostPort('--metrics-listen', 'QKV_RL_METRICS_LISTEN', '127.0.0.1:0', 'Prometheus /metrics listen address (port 0 picks a free port; the listening line logs the URL)'),
  id: {
    ...setting.string('--id', 'QKV_RL_ID', '', 'This replica\'s id: one of --replicas in static mode; unique among the cluster\'s members with --seeds'),
    defaultText: 'rl-1 (with --seeds: <host name>-<pid>, the pod name in Kubernetes)',
  },
  seeds: {
    ...seedsSetting('QKV_RL_SEEDS'),
    description:
      'Membership service addresses, HOST:PORT[,…]: this replica gossips as a cluster member and spreads counter keys over the live rate-limiter members (ownership follows them). Not with --replicas',
    defaultText: '(none)',
  },
  advertise: advertiseSetting('QKV_RL_ADVERTISE'),
  zone: zoneSetting('QKV_RL_ZONE'),
  replicas,
  failureMode: setting.enumOf(
    '--failure-mode',
    'QKV_RL_FAILURE_MODE',
    'open',
    ['open', 'closed'] as const,
    'When a key\'s owner replica cannot be reached: admit (open, like Envoy) or refuse (closed)',
  ),
  headers: {
    flag: '--headers',
    env: 'QKV_RL_HEADERS',
    default: 'all' as HeaderMode,
    description:
      'Response headers to add: draft (IETF draft RateLimit-Policy and RateLimit), x-ratelimit (X-Ratelimit-Limit, ' +
      'X-Ratelimit-Remaining and, when refused, X-Ratelimit-Retry-After), all (both) or none; with any but none, Retry-After when refused',
    parse: headerMode,
  },
  forwardTimeoutMs: setting.int(
    '--forward-timeout-ms',
    'QKV_RL_FORWARD_TIMEOUT_MS',
    250,
    'How long a decision forwarded to the owner replica may take before the failure mode answers',
    1,
    60_000,
  ),
  reloadDebounceMs: setting.int('--reload-debounce-ms', 'QKV_RL_RELOAD_DEBOUNCE_MS', 200, 'Quiet time after a rules-folder change before reloading', 0, 60_000),
  sweepIntervalMs: setting.int('--sweep-interval-ms', 'QKV_RL_SWEEP_INTERVAL_MS', 10_000, 'How often idle counter state is dropped', 100, 3_600_000),
  directServe: setting.bool(
    '--direct-serve',
    'QKV_RL_DIRECT_SERVE',
    true,
    'Serve ShouldRateLimit straight from HTTP/2 on the gRPC port (false: through grpc-js, ~1.4x the CPU per call and a longer tail)',
  ),
  maxRequestBytes: setting.int(
    '--max-request-bytes',
    'QKV_RL_MAX_REQUEST_BYTES',
    64 * 1024,
    'Largest ShouldRateLimit request accepted (RESOURCE_EXHAUSTED above it, refused before its body is read); batches of checks and forwarded hits are bounded from it',
    1024,
    4 * 1024 * 1024,
  ),
  graceMs: setting.int('--grace-ms', 'QKV_RL_GRACE_MS', 5_000, 'On SIGTERM, how long calls in flight may take before they are cut', 0, 600_000),
  // Mutual TLS. Why no 'none': coordinators and peer replicas are known by their client certificates.
  ...tlsSettings('QKV_RL'),
  tlsClientCerts: clientCertificateSetting('QKV_RL', ['optional', 'required']),
};

/** Values read from {@link rateLimiterSettings}. */
export type RateLimiterConfig = ConfigOf<typeof rateLimiterSettings>;

/** A setting that is well-formed alone but wrong together with the others. */
export class RateLimiterConfigError extends Error {
  override readonly name = 'RateLimiterConfigError';
  constructor(
    readonly setting: string,
    readonly problem: string,
  ) {
    super(`invalid setting ${setting}: ${problem}`);
  }
}

/**
 * Checks what a single setting cannot: the rules folder is given, `--seeds` and `--replicas` are
 * not both given, and in static mode this replica's id is among the replicas. Fills in the
 * default id (`rl-1`, or with `--seeds` one unique to this process).
 * @throws RateLimiterConfigError naming the setting.
 */
export function checkConfig(config: RateLimiterConfig): RateLimiterConfig {
  if (config.rules.trim() === '') throw new RateLimiterConfigError('--rules', 'is required (a folder of YAML rule files)');
  if (config.seeds.length > 0 && config.replicas.length > 0) {
    throw new RateLimiterConfigError(
      '--replicas',
      'cannot be combined with --seeds: with --seeds the replicas are the live rate-limiter members the cluster gossips; --replicas is the static mode without a membership service',
    );
  }
  if (config.id.trim() === '') config = { ...config, id: config.seeds.length > 0 ? (process.pid === 1 ? hostname() : `${hostname()}-${process.pid}`) : 'rl-1' };
  if (config.replicas.length > 0 && !config.replicas.some((r) => r.id === config.id)) {
    throw new RateLimiterConfigError('--id', `"${config.id}" is not one of --replicas (${config.replicas.map((r) => r.id).join(', ')})`);
  }
  return config;
}

/**
 * The largest message the rate limiter accepts on any call: a batch of checks (from
 * coordinators, batched up to 1 MiB) or of forwarded hits (from peers, likewise), each item at
 * most one request of `--max-request-bytes`. ShouldRateLimit itself is held to
 * `--max-request-bytes` (see `createDirectRlsMethod`).
 */
export function receiveLimit(config: Pick<RateLimiterConfig, 'maxRequestBytes'>): number {
  return batchReceiveLimit(config.maxRequestBytes);
}
