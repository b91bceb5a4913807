import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceJob } from './cluster.js';
import { canListen, withReservedPorts } from './port-reservation.js';

/** One `/metrics` endpoint to scrape. */
export interface ScrapeTarget {
  /** The scrape job: the service (`membership`, `storage-node`, `coordinator`, `rate-limiter`). */
  readonly job: ServiceJob;
  /** `HOST:PORT` of its metrics server. */
  readonly address: string;
  /** A readable name for the instance (`node-1`), added as the `node` label. */
  readonly node: string;
}

/** What {@link prometheusConfig} writes. */
export interface PrometheusConfigOptions {
  readonly targets: readonly ScrapeTarget[];
  /** @default 5 */
  readonly scrapeIntervalSeconds?: number;
  /** Rule files to load (absolute paths), e.g. deploy/prometheus/alerts.yml. */
  readonly ruleFiles?: readonly string[];
}

/** `HOST:PORT` of a `http://HOST:PORT/metrics` URL. */
export function scrapeAddress(metricsUrl: string): string {
  return new URL(metricsUrl).host;
}

/**
 * A prometheus.yml scraping every target, one job per service (the job names the alert rules and
 * the Grafana dashboard use). Strings are written JSON-quoted, which YAML reads as they are.
 */
export function prometheusConfig(options: PrometheusConfigOptions): string {
  const interval = `${options.scrapeIntervalSeconds ?? 5}s`;
  const jobs = new Map<ServiceJob, ScrapeTarget[]>();
  for (const t of options.targets) jobs.set(t.job, [...(jobs.get(t.job) ?? []), t]);
  const lines = [
    '# Written by `npm run start:observe`: scrapes every service of the local quorumkv cluster.',
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
  ];
  if (options.ruleFiles !== undefined && options.ruleFiles.length > 0) {
    lines.push('rule_files:', ...options.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`));
  }
  lines.push('scrape_configs:');
  for (const [job, targets] of jobs) {
    lines.push(`  - job_name: ${JSON.stringify(job)}`, '    metrics_path: /metrics', '    static_configs:');
    for (const t of targets) {
      lines.push(`      - targets: [${JSON.stringify(t.address)}]`, `        labels: { node: ${JSON.stringify(t.node)} }`);
    }
  }
  return lines.join('\n') + '\n';
}

/**
 * Pages of a Prometheus web UI. Where they are depends on the build: Debian's prometheus 2.42
 * ships only the classic UI, at `/classic/graph`, `/classic/targets`, `/classic/alerts` (its
 * `/targets` is a 404); upstream 2.x builds serve `/graph`, `/targets`, `/alerts`; 3.x serves
 * `/query`. The root redirects to the query page, which tells which one runs.
 */
export interface PrometheusPages {
  /** The query page; add `?g0.expr=…` for a query. */
  readonly query: string;
  readonly targets: string;
  readonly alerts: string;
}

/** The pages of the Prometheus UI at `url`, found from where its root redirects. */
export async function prometheusPages(url: string): Promise<PrometheusPages> {
  const res = await fetch(`${url}/`, { redirect: 'manual' });
  await res.arrayBuffer();
  const home = new URL(res.headers.get('location') ?? '/graph', `${url}/`).pathname.replace(/\/$/, '');
  const base = home.replace(/\/(graph|query)$/, '');
  return { query: `${url}${home}`, targets: `${url}${base}/targets`, alerts: `${url}${base}/alerts` };
}

/** A query page link: the expression as a graph over the last 15 minutes. */
export function queryLink(pages: PrometheusPages, expr: string): string {
  return `${pages.query}?g0.expr=${encodeURIComponent(expr)}&g0.tab=0&g0.range_input=15m`;
}

/** What `npm run start:observe` prints about its Prometheus: the UI's pages and two ready queries. */
export function prometheusLines(prometheus: RunningPrometheus): string[] {
  const { pages } = prometheus;
  return [
    `Prometheus: ${prometheus.url}  (scrapes every service each 5 s; config ${prometheus.configFile})`,
    `  targets:  ${pages.targets}`,
    `  alerts:   ${pages.alerts}`,
    `  calls/s:  ${queryLink(pages, 'sum by (job, method, code) (rate(quorumkv_grpc_server_requests_total[1m]))')}`,
    `  p99:      ${queryLink(pages, 'histogram_quantile(0.99, sum by (job, method, le) (rate(quorumkv_grpc_server_request_duration_seconds_bucket[1m])))')}`,
  ];
}

/** A running Prometheus. */
export interface RunningPrometheus {
  /** The web UI, `http://HOST:PORT`. */
  readonly url: string;
  /** Its pages, as this build serves them. */
  readonly pages: PrometheusPages;
  /** The prometheus.yml it reads. */
  readonly configFile: string;
  readonly process: ChildProcess;
  /** Stops it (SIGTERM, SIGKILL after 5 s) and removes its temporary folder. */
  stop(): Promise<void>;
}

/** Options of {@link startPrometheus}. */
export interface StartPrometheusOptions extends PrometheusConfigOptions {
  /** @default /usr/bin/prometheus */
  readonly binary?: string;
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** Web UI port; taken when free, else a reserved free one. 0: a reserved free one. @default 9090 */
  readonly port?: number;
  /** How long to wait for `/-/ready`. @default 20000 */
  readonly readyTimeoutMs?: number;
}

/** A Prometheus that failed to start: its exit or timeout, and its last output. */
export class PrometheusStartError extends Error {
  override readonly name = 'PrometheusStartError';
  constructor(
    readonly reason: string,
    readonly output: string,
  ) {
    super(`prometheus did not start: ${reason}${output ? `\n--- last output of prometheus ---\n${output}` : ''}`);
  }
}

/** Whether the Prometheus answering at `url` is ready and is the one reading `configFile`. */
async function ready(url: string, configFile: string): Promise<boolean> {
  try {
    if (!(await fetch(`${url}/-/ready`)).ok) return false;
    // Another server may answer on this port (one that took it first): check it is ours.
    const flags = (await (await fetch(`${url}/api/v1/status/flags`)).json()) as { data?: Record<string, string> };
    return flags.data?.['config.file'] === configFile;
  } catch {
    return false;
  }
}

/**
 * Writes a prometheus.yml for the targets into a temporary folder and runs Prometheus on it with
 * its time-series storage in the same folder, on loopback; resolves once it reports ready. The
 * port is `options.port` when free, else (and for 0) one reserved below the ephemeral range
 * (see `reservePorts`), tried again on another when Prometheus finds it taken.
 */
export async function startPrometheus(options: StartPrometheusOptions): Promise<RunningPrometheus> {
  const host = options.host ?? '127.0.0.1';
  const preferred = options.port ?? 9090;
  if (preferred !== 0 && (await canListen(host, preferred))) return startOn(options, host, preferred);
  const { value, reservation } = await withReservedPorts(1, (ports) => startOn(options, host, ports[0] ?? 0), { host });
  return { ...value, stop: () => value.stop().finally(() => reservation.release()) };
}

async function startOn(options: StartPrometheusOptions, host: string, port: number): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, prometheusConfig(options));
  const child = spawn(
    options.binary ?? '/usr/bin/prometheus',
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=${host}:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  const keep = (chunk: Buffer): void => {
    output.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
    output.splice(0, Math.max(0, output.length - 20));
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (err) => {
      output.push(err.message);
      resolve(-1);
    });
  });
  let running = true;
  void exited.then(() => {
    running = false;
  });
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const stop = async (): Promise<void> => {
    if (running) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  while (!(await ready(url, configFile))) {
    if (!running) {
      await stop();
      throw new PrometheusStartError(`exited with code ${await exited}`, output.join('\n'));
    }
    if (Date.now() > deadline) {
      await stop();
      throw new PrometheusStartError(`not ready within ${options.readyTimeoutMs ?? 20_000} ms`, output.join('\n'));
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, pages: await prometheusPages(url), configFile, process: child, stop };
}
