import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceJob } from './cluster.js';

/** One `/metrics` endpoint to scrape. */
export interface ScrapeTarget {
  /** The scrape job: the service (`storage-node`, `coordinator`, `rate-limiter`). */
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

/** Resolves with `preferred` when it is free on `host`, else with a port the OS picks. */
export async function freePort(host: string, preferred = 0): Promise<number> {
  const tryPort = (port: number): Promise<number | undefined> =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, host, () => {
        const address = server.address();
        const bound = typeof address === 'object' && address !== null ? address.port : undefined;
        server.close(() => resolve(bound));
      });
    });
  if (preferred !== 0) {
    const port = await tryPort(preferred);
    if (port !== undefined) return port;
  }
  const any = await tryPort(0);
  if (any === undefined) throw new Error(`no free port on ${host}`);
  return any;
}

/** A running Prometheus. */
export interface RunningPrometheus {
  /** The web UI, `http://HOST:PORT`. */
  readonly url: string;
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
  /** Web UI port; taken when free, else any free port. 0: any free port. @default 9090 */
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

async function ready(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/-/ready`);
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Writes a prometheus.yml for the targets into a temporary folder and runs Prometheus on it with
 * its time-series storage in the same folder, on loopback; resolves once it reports ready.
 */
export async function startPrometheus(options: StartPrometheusOptions): Promise<RunningPrometheus> {
  const host = options.host ?? '127.0.0.1';
  const port = await freePort(host, options.port ?? 9090);
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
  const url = `http://${host}:${port}`;
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
  while (!(await ready(url))) {
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
  return { url, configFile, process: child, stop };
}
