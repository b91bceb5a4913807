import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { LocalCluster } from './cluster.js';
import { DEV_CLIENT_IDENTITY, devTlsArgs } from './dev-certificates.js';
import { checkNoOtherLauncher, serveControl } from './control.js';
import { launchUsage, parseLaunchOptions, UsageError, type LaunchOptions } from './launch-options.js';
import { serviceEntry } from './paths.js';
import { DEFAULT_RESTART_POLICY, Supervisor } from './supervisor.js';

/** What a launcher command adds around the cluster (`start:observe` adds Prometheus). */
export interface LaunchExtras {
  /** Runs once the cluster is up; returns lines to print and how to stop what it started. */
  afterStart?(cluster: LocalCluster, options: LaunchOptions): Promise<{ lines: string[]; stop(): Promise<void> }>;
}

function fail(message: string): never {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(2);
}

/** Whether OTEL_* asks for traces, in words, for the summary. */
function tracingLine(env: NodeJS.ProcessEnv): string {
  const endpoint = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  if (env['OTEL_SDK_DISABLED'] === 'true' || env['OTEL_TRACES_EXPORTER'] === 'none') return '  traces: off (OTEL_* turns them off)';
  if (endpoint !== undefined && endpoint !== '') return `  traces: every service exports to ${endpoint}`;
  if (env['OTEL_TRACES_EXPORTER'] !== undefined) return `  traces: OTEL_TRACES_EXPORTER=${env['OTEL_TRACES_EXPORTER']}`;
  return '  traces: off (set OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 to send them to a collector)';
}

/** The summary printed once the cluster is up. */
export function describeCluster(cluster: LocalCluster, options: LaunchOptions, env: NodeJS.ProcessEnv): string[] {
  const tlsDir = cluster.tls === undefined ? undefined : shortPath(cluster.tls.dir);
  const tlsFlag = tlsDir === undefined ? '' : ` --tls-dir ${tlsDir}`;
  const addr = (cluster.address === '127.0.0.1:7070' ? '' : ` --addr ${cluster.address}`) + tlsFlag;
  const membershipFlag = (cluster.membershipAddress === '127.0.0.1:7946' ? '' : ` --membership ${cluster.membershipAddress}`) + tlsFlag;
  // The next node on the next fixed port: a node keeps its address across restarts (the ring
  // records it), so a port of 0 would not do.
  const next = cluster.storageNodes.length + 1;
  const base = options.cluster.storageBasePort ?? 0;
  const nextPort = base > 0 ? base + cluster.storageNodes.length : 7101 + cluster.storageNodes.length;
  const nodeTls = cluster.tls === undefined ? '' : ` ${devTlsArgs(cluster.tls, 'storage-node').join(' ')}`;
  const metrics = (url: string | undefined): string => (url === undefined ? '' : `  metrics ${url}`);
  return [
    '',
    `quorumkv is up. Coordinator (KeyValueService): ${cluster.address}${metrics(cluster.coordinator.metricsUrl)}`,
    `  membership (ring, cluster commands): ${cluster.membershipAddress}${metrics(cluster.membership.metricsUrl)}`,
    ...cluster.storageNodes.map((s) => `  storage ${s.id}: ${s.process.address}${metrics(s.process.metricsUrl)}  (data ${s.dataDir})`),
    ...(cluster.rateLimiter ? [`  rate limiter (Envoy RLS): ${cluster.rateLimiter.address}${metrics(cluster.rateLimiter.metricsUrl)}`] : []),
    ...(cluster.antiEntropy ? [`  anti-entropy (qkv repair): ${cluster.antiEntropy.address}${metrics(cluster.antiEntropy.metricsUrl)}`] : []),
    cluster.nats
      ? `  hinted handoff: on, nats-server (JetStream) ${cluster.nats.url}  (store ${resolve(options.cluster.dataDir, 'nats')})`
      : `  hinted handoff: off${cluster.hintsOffReason !== undefined ? ` (${cluster.hintsOffReason})` : ' (--no-hints)'}`,
    `  logs: ${resolve(options.cluster.dataDir, 'logs')}`,
    tracingLine(env),
    ...tlsLines(cluster),
    '',
    'Try it from another shell:',
    `  npx qkv put greeting hello${addr}`,
    `  npx qkv get greeting${addr}`,
    `  npx qkv status${addr}`,
    `  npx qkv cluster status${membershipFlag}`,
    ...(cluster.antiEntropy ? [`  npx qkv repair status${cluster.antiEntropy.address === '127.0.0.1:7180' ? '' : ` --anti-entropy ${cluster.antiEntropy.address}`}${tlsFlag}`] : []),
    '',
    'Add a storage node to the running cluster (it joins the ring by itself; watch its ranges arrive):',
    `  npx quorumkv-storage-node --id node-${next} --listen 127.0.0.1:${nextPort} --data-dir ${resolve(options.cluster.dataDir, `node-${next}`)} --seeds ${cluster.membershipAddress}${nodeTls}`,
    `  npx qkv cluster transfers${membershipFlag}`,
    '',
    options.autoRestart
      ? 'A service that crashes is restarted on its ports (after 1 s, then longer while it keeps crashing).'
      : 'A service that crashes stays down (--no-restart).',
    `Control it from another shell: npx quorumkv-local status | restart [NAME] | stop NAME${controlDir(options)}`,
  ];
}

/** A path relative to the working directory when it is inside it, for shorter hints. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** Where the TLS files are, when the cluster runs with --tls. */
function tlsLines(cluster: LocalCluster): string[] {
  const tls = cluster.tls;
  if (tls === undefined) return [];
  const made = tls.issued.length === 0 ? 'reused' : `made now: ${tls.issued.length} file(s)`;
  return [
    `  TLS: mutual TLS on every connection, client certificates required; certificates in ${tls.dir} (${made})`,
    `    clients: ca.pem (the CA to trust), client.pem and client-key.pem (identity ${DEV_CLIENT_IDENTITY}); ca-key.pem stays private`,
  ];
}

/** ` --data-dir DIR` for the control commands, when the data is not in the default place. */
function controlDir(options: LaunchOptions): string {
  return resolve(options.cluster.dataDir) === resolve('.qkv-data') ? '' : ` --data-dir ${options.cluster.dataDir}`;
}

/**
 * The launcher commands' body: reads the flags, starts the cluster with this process's
 * environment (so OTEL_* and LOG_LEVEL reach every service), prints where everything is, and
 * stops it all cleanly on Ctrl-C or SIGTERM.
 */
export async function runCluster(argv: readonly string[], extras: LaunchExtras = {}): Promise<void> {
  let parsed;
  try {
    parsed = parseLaunchOptions(argv, process.env, existsSync(serviceEntry('rate-limiter')));
  } catch (err) {
    if (err instanceof UsageError) fail(err.message);
    fail(`${err instanceof Error ? err.message : String(err)}\n\n${launchUsage}`);
  }
  if (parsed.help) {
    process.stdout.write(launchUsage + '\n');
    return;
  }
  const { options } = parsed;
  const { cluster: clusterOptions } = options;
  // Before anything starts: a second launcher on the same data would only fail later, on a
  // locked LevelDB folder or a taken port, with a less helpful message.
  await checkNoOtherLauncher(clusterOptions.dataDir);
  process.stdout.write(
    `Starting quorumkv: the membership service, ${clusterOptions.nodes} storage nodes (N=${clusterOptions.replicationFactor}, joining the ring one by one), data in ${clusterOptions.dataDir}\n`,
  );
  // Why detached: Ctrl-C signals the terminal's whole foreground process group. Had the services
  // been in it, each would start draining on that SIGINT and then get the launcher's SIGTERM a
  // few ms later as a "second signal", which exits at once (exit 1, a storage node's engine not
  // closed). In their own groups only the launcher hears Ctrl-C and stops each service once:
  // the coordinator first, then the nodes.
  const cluster = await LocalCluster.start({ ...clusterOptions, env: process.env, detached: true });
  // Crashes are reported (with how the process ended) and, unless --no-restart, healed.
  const supervisor = new Supervisor(
    cluster,
    { ...DEFAULT_RESTART_POLICY, automatic: options.autoRestart },
    (line) => process.stderr.write(`npm start: ${line}\n`),
    undefined,
    controlDir(options),
  );
  let extra: { lines: string[]; stop(): Promise<void> } | undefined;
  let control: { close(): Promise<void> } | undefined;
  try {
    control = await serveControl(clusterOptions.dataDir, supervisor);
    extra = await extras.afterStart?.(cluster, options);
  } catch (err) {
    await supervisor.shutdown();
    await Promise.all([control?.close(), cluster.stop()]);
    throw err;
  }
  process.stdout.write([...describeCluster(cluster, options, process.env), ...(extra?.lines ?? []), '', 'Press Ctrl-C to stop.', ''].join('\n'));

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping quorumkv...\n');
    // The supervisor first, so that nothing is restarted while the cluster stops, and services
    // it is starting right now are up before the cluster stops every one of them.
    supervisor
      .shutdown()
      .then(() => Promise.all([extra?.stop(), control?.close(), cluster.stop()]))
      .then(
        () => {
          process.stdout.write('Stopped.\n');
          process.exit(0);
        },
        (err: unknown) => {
          process.stderr.write(`npm start: stopping failed: ${String(err)}\n`);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // The terminal closing no longer reaches the services (their own groups): stop them then too.
  process.on('SIGHUP', stop);
}
