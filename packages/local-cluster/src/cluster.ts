import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureContextKeys } from './context-keys.js';
import { ServiceProcess } from './service-process.js';
import { defaultRulesDir, serviceEntry, serviceNodeArgs } from './paths.js';

/** What to start. Ports of 0 pick free ones (tests); the CLI uses fixed defaults. */
export interface LocalClusterOptions {
  /** Number of storage nodes. @default 3 */
  readonly nodes?: number;
  /** Replication factor N. @default min(3, nodes) */
  readonly replicationFactor?: number;
  readonly host?: string;
  /** Coordinator port. @default 0 */
  readonly coordinatorPort?: number;
  /** First storage node port; node i gets base + i - 1. 0 picks free ports. @default 0 */
  readonly storageBasePort?: number;
  /** Rate limiter port (0 = free port); `false` starts no rate limiter. @default false */
  readonly rateLimiterPort?: number | false;
  /**
   * Ports of the Prometheus `/metrics` endpoints: the coordinator's, the first storage node's
   * (node i gets `storageBase + i - 1`) and the rate limiter's. Absent or 0 picks free ports;
   * each service logs its URL, kept as `ServiceProcess.metricsUrl`.
   */
  readonly metricsPorts?: { readonly coordinator?: number; readonly storageBase?: number; readonly rateLimiter?: number };
  /** Rules folder for the rate limiter. @default deploy/ratelimit */
  readonly rulesDir?: string;
  /** Data folder; node i keeps its LevelDB in `<dataDir>/node-i`, logs in `<dataDir>/logs`. */
  readonly dataDir: string;
  /**
   * The coordinators' `--context-keys-file`. @default `<dataDir>/context-keys.json`, created with
   * a random key on first start and reused afterwards
   */
  readonly contextKeysFile?: string;
  /**
   * Extra environment for every service (OTEL_*, LOG_LEVEL…), passed through unchanged; each
   * service also gets `service.instance.id=<its name>` added to OTEL_RESOURCE_ATTRIBUTES.
   */
  readonly env?: NodeJS.ProcessEnv;
  /** Extra flags per service. */
  readonly storageArgs?: readonly string[];
  readonly coordinatorArgs?: readonly string[];
  readonly rateLimiterArgs?: readonly string[];
  /** Flags for node (V8 heap sizes, `--cpu-prof`) given to every service process. @default [] */
  readonly nodeArgs?: readonly string[];
  /** Keep logs in files under `<dataDir>/logs`. @default true */
  readonly logToFiles?: boolean;
}

/** A service's Prometheus job name. */
export type ServiceJob = 'storage-node' | 'coordinator' | 'rate-limiter';

/**
 * The environment of one service: every variable given (OTEL_*, LOG_LEVEL…) unchanged, plus
 * `service.instance.id=<name>` in OTEL_RESOURCE_ATTRIBUTES so traces tell node-1 from node-2.
 * The service name comes from each service's package (`storage-node`, `coordinator`,
 * `rate-limiter`, as the Prometheus jobs) unless OTEL_SERVICE_NAME is given.
 */
export function serviceEnv(env: NodeJS.ProcessEnv | undefined, name: string): NodeJS.ProcessEnv {
  const given = env?.['OTEL_RESOURCE_ATTRIBUTES'] ?? process.env['OTEL_RESOURCE_ATTRIBUTES'] ?? '';
  if (/(^|,)\s*service\.instance\.id\s*=/.test(given)) return { ...env };
  return { ...env, OTEL_RESOURCE_ATTRIBUTES: given.trim() === '' ? `service.instance.id=${name}` : `${given},service.instance.id=${name}` };
}

export interface StorageNodeInfo {
  readonly id: string;
  readonly dataDir: string;
  process: ServiceProcess;
}

/** A running local cluster of real processes on loopback. */
export class LocalCluster {
  private constructor(
    readonly options: LocalClusterOptions,
    /** The key file the coordinator signs contexts with (start other coordinators with it too). */
    readonly contextKeysFile: string,
    readonly storageNodes: StorageNodeInfo[],
    public coordinator: ServiceProcess,
    public rateLimiter: ServiceProcess | undefined,
  ) {}

  /** Starts the storage nodes, then the rate limiter, then the coordinator pointing at them. */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    for (const s of ['storage-node', 'coordinator'] as const) {
      if (!existsSync(serviceEntry(s))) throw new Error(`${serviceEntry(s)} is missing: run \`npm run build\` first`);
    }
    const count = options.nodes ?? 3;
    const started: ServiceProcess[] = [];
    try {
      const storageNodes: StorageNodeInfo[] = [];
      const starts = [];
      for (let i = 1; i <= count; i++) {
        const id = `node-${i}`;
        const dataDir = join(options.dataDir, id);
        starts.push(
          LocalCluster.startStorageNode(options, id, dataDir, {
            port: options.storageBasePort ? options.storageBasePort + i - 1 : 0,
            metricsPort: options.metricsPorts?.storageBase ? options.metricsPorts.storageBase + i - 1 : 0,
          }).then((p) => {
            started.push(p);
            storageNodes.push({ id, dataDir, process: p });
          }),
        );
      }
      // Wait for every start to settle before judging: with Promise.all a first failure would
      // return while the other nodes were still starting, and they would outlive the launcher.
      const settled = await Promise.allSettled(starts);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      storageNodes.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
      let rateLimiter: ServiceProcess | undefined;
      if (options.rateLimiterPort !== undefined && options.rateLimiterPort !== false) {
        rateLimiter = await ServiceProcess.start({
          name: 'rate-limiter',
          entry: serviceEntry('rate-limiter'),
          args: [
            '--listen',
            `${options.host ?? '127.0.0.1'}:${options.rateLimiterPort}`,
            '--rules',
            options.rulesDir ?? defaultRulesDir,
            ...LocalCluster.metricsListen(options, options.metricsPorts?.rateLimiter),
            ...(options.rateLimiterArgs ?? []),
          ],
          ...LocalCluster.common(options, 'rate-limiter', 'rate-limiter'),
        });
        started.push(rateLimiter);
      }
      const contextKeysFile = options.contextKeysFile ?? ensureContextKeys(options.dataDir);
      const coordinator = await LocalCluster.startCoordinator(options, storageNodes, rateLimiter, contextKeysFile);
      return new LocalCluster(options, contextKeysFile, storageNodes, coordinator, rateLimiter);
    } catch (err) {
      await Promise.all(started.map((p) => p.stop(2_000)));
      throw err;
    }
  }

  private static common(
    options: LocalClusterOptions,
    name: string,
    service: Parameters<typeof serviceNodeArgs>[0],
  ): { env?: NodeJS.ProcessEnv; logFile?: string; nodeArgs: readonly string[] } {
    return {
      nodeArgs: [...serviceNodeArgs(service), ...(options.nodeArgs ?? [])],
      env: serviceEnv(options.env, name),
      ...(options.logToFiles === false ? {} : { logFile: join(options.dataDir, 'logs', `${name}.log`) }),
    };
  }

  private static metricsListen(options: LocalClusterOptions, port: number | undefined): string[] {
    return ['--metrics-listen', `${options.host ?? '127.0.0.1'}:${port ?? 0}`];
  }

  private static startStorageNode(
    options: LocalClusterOptions,
    id: string,
    dataDir: string,
    ports: { readonly port: number; readonly metricsPort: number },
  ): Promise<ServiceProcess> {
    return ServiceProcess.start({
      name: id,
      entry: serviceEntry('storage-node'),
      args: [
        '--id',
        id,
        '--listen',
        `${options.host ?? '127.0.0.1'}:${ports.port}`,
        '--data-dir',
        dataDir,
        ...LocalCluster.metricsListen(options, ports.metricsPort),
        ...(options.storageArgs ?? []),
      ],
      ...LocalCluster.common(options, id, 'storage-node'),
    });
  }

  private static startCoordinator(
    options: LocalClusterOptions,
    nodes: readonly StorageNodeInfo[],
    rateLimiter: ServiceProcess | undefined,
    contextKeysFile: string,
  ): Promise<ServiceProcess> {
    const n = options.replicationFactor ?? Math.min(3, nodes.length);
    return ServiceProcess.start({
      name: 'coordinator',
      entry: serviceEntry('coordinator'),
      args: [
        '--listen',
        `${options.host ?? '127.0.0.1'}:${options.coordinatorPort ?? 0}`,
        '--nodes',
        nodes.map((s) => `${s.id}=${s.process.address}`).join(','),
        '--replication-factor',
        String(n),
        '--context-keys-file',
        contextKeysFile,
        ...(rateLimiter ? ['--rate-limiter', rateLimiter.address] : []),
        ...LocalCluster.metricsListen(options, options.metricsPorts?.coordinator),
        ...(options.coordinatorArgs ?? []),
      ],
      ...LocalCluster.common(options, 'coordinator', 'coordinator'),
    });
  }

  /** The coordinator's address, for clients. */
  get address(): string {
    return this.coordinator.address;
  }

  /**
   * Every service process with its Prometheus job name (`storage-node`, `coordinator`,
   * `rate-limiter`: the names the alerts and the dashboard use) and instance name.
   */
  services(): { readonly job: ServiceJob; readonly instance: string; readonly process: ServiceProcess }[] {
    return [
      ...this.storageNodes.map((s) => ({ job: 'storage-node' as const, instance: s.id, process: s.process })),
      { job: 'coordinator' as const, instance: 'coordinator', process: this.coordinator },
      ...(this.rateLimiter ? [{ job: 'rate-limiter' as const, instance: 'rate-limiter', process: this.rateLimiter }] : []),
    ];
  }

  node(id: string): StorageNodeInfo {
    const n = this.storageNodes.find((s) => s.id === id);
    if (!n) throw new Error(`no storage node ${id}`);
    return n;
  }

  /** Restarts a stopped or killed storage node on the same ports and data folder. */
  async restartNode(id: string): Promise<void> {
    const n = this.node(id);
    if (n.process.running) await n.process.stop();
    const port = Number(n.process.address.split(':').pop());
    const metricsPort = n.process.metricsUrl === undefined ? 0 : Number(new URL(n.process.metricsUrl).port);
    n.process = await LocalCluster.startStorageNode(this.options, id, n.dataDir, { port, metricsPort });
  }

  /** Stops every process (SIGTERM, then SIGKILL after the grace period). */
  async stop(graceMs = 10_000): Promise<void> {
    await this.coordinator.stop(graceMs);
    await Promise.all([...this.storageNodes.map((s) => s.process.stop(graceMs)), this.rateLimiter?.stop(graceMs)]);
  }
}
