import { existsSync } from 'node:fs';
import type { NatsServer } from '@quorumkv/hints';
import { startHintsServer, type HintsOptions } from './hints-server.js';
import { join } from 'node:path';
import { waitForRing, waitForServing } from './cluster-ready.js';
import { ensureContextKeys } from './context-keys.js';
import { devChannelCredentials, devTlsArgs, ensureDevCertificates, type DevCertificates, type DevServiceRole } from './dev-certificates.js';
import { ServiceProcess } from './service-process.js';
import { defaultRulesDir, serviceEntry, serviceNodeArgs } from './paths.js';
import { withReservedPorts, type PortReservation } from './port-reservation.js';

/**
 * What to start. A port of 0 gets a reserved one (see `reservePorts`: below the ephemeral
 * range, claimed for this process), so a service restarted after a crash gets its port back;
 * the CLI uses fixed defaults.
 */
export interface LocalClusterOptions {
  /** Number of storage nodes. @default 3 */
  readonly nodes?: number;
  /** Replication factor N. @default min(3, nodes) */
  readonly replicationFactor?: number;
  readonly host?: string;
  /** Membership service port (0: a reserved free port). @default 0 */
  readonly membershipPort?: number;
  /** Coordinator port (0: a reserved free port). @default 0 */
  readonly coordinatorPort?: number;
  /** First storage node port; node i gets base + i - 1. 0 gives each node a reserved free port. @default 0 */
  readonly storageBasePort?: number;
  /** Rate limiter port (0: a reserved free port); `false` starts no rate limiter. @default false */
  readonly rateLimiterPort?: number | false;
  /** Anti-entropy worker's admin port (0: a reserved free port); `false` starts none. @default false */
  readonly antiEntropyPort?: number | false;
  /**
   * Ports of the Prometheus `/metrics` endpoints: the coordinator's, the first storage node's
   * (node i gets `storageBase + i - 1`) and the rate limiter's. Absent or 0 gives reserved free
   * ports; each service logs its URL, kept as `ServiceProcess.metricsUrl`.
   */
  readonly metricsPorts?: {
    readonly coordinator?: number;
    readonly storageBase?: number;
    readonly rateLimiter?: number;
    readonly membership?: number;
    readonly antiEntropy?: number;
  };
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
  readonly membershipArgs?: readonly string[];
  readonly storageArgs?: readonly string[];
  readonly coordinatorArgs?: readonly string[];
  readonly rateLimiterArgs?: readonly string[];
  readonly antiEntropyArgs?: readonly string[];
  /** Flags for node (V8 heap sizes, `--cpu-prof`) given to every service process. @default [] */
  readonly nodeArgs?: readonly string[];
  /**
   * Mutual TLS on every connection, the client API included (client certificates required),
   * with the development CA's certificates in `<dataDir>/tls` (made on first use, renewed when
   * close to expiry; see `ensureDevCertificates`). @default false
   */
  readonly tls?: boolean;
  /** Keep logs in files under `<dataDir>/logs`. @default true */
  readonly logToFiles?: boolean;
  /**
   * Each service in a process group of its own (see `ServiceProcessSpec.detached`): for the
   * launcher, whose Ctrl-C must not also reach the services. @default false
   */
  readonly detached?: boolean;
  /**
   * How long {@link LocalCluster.start} waits for every storage node to be NORMAL in the ring (they
   * join one at a time, each after the ranges it gains arrived) and the coordinator to report
   * SERVING. @default 60000
   */
  readonly readyTimeoutMs?: number;
  /**
   * Hinted handoff: a `nats-server` with JetStream (store under `<dataDir>/nats`) started before
   * the other services and stopped last, its URL passed as `--nats` to the membership service,
   * the storage nodes and the coordinator. @default false (no NATS, hints off)
   */
  readonly hints?: HintsOptions | false;
}

/** A service's Prometheus job name. */
export type ServiceJob = 'membership' | 'storage-node' | 'coordinator' | 'rate-limiter' | 'anti-entropy';

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

/** Every port a cluster binds, none of them 0. */
interface PortPlan {
  readonly membership: number;
  readonly coordinator: number;
  readonly storage: readonly number[];
  readonly rateLimiter: number | undefined;
  readonly antiEntropy: number | undefined;
  readonly metrics: {
    readonly membership: number;
    readonly coordinator: number;
    readonly storage: readonly number[];
    readonly rateLimiter: number;
    readonly antiEntropy: number;
  };
}

/**
 * The ports of every service: the fixed ones asked for, and one from `reserved` (in order) for
 * each asked as 0 or not given. Called with an empty list, it counts how many it needs.
 */
function planPorts(options: LocalClusterOptions, reserved: readonly number[]): { plan: PortPlan; needed: number } {
  let used = 0;
  const pick = (wanted: number | undefined): number => (wanted !== undefined && wanted !== 0 ? wanted : (reserved[used++] ?? 0));
  const count = options.nodes ?? 3;
  const nodes = Array.from({ length: count }, (_, i) => i);
  const storageBase = options.storageBasePort;
  const metricsBase = options.metricsPorts?.storageBase;
  const plan: PortPlan = {
    membership: pick(options.membershipPort),
    coordinator: pick(options.coordinatorPort),
    storage: nodes.map((i) => pick(storageBase ? storageBase + i : 0)),
    rateLimiter: options.rateLimiterPort === undefined || options.rateLimiterPort === false ? undefined : pick(options.rateLimiterPort),
    antiEntropy: options.antiEntropyPort === undefined || options.antiEntropyPort === false ? undefined : pick(options.antiEntropyPort),
    metrics: {
      membership: pick(options.metricsPorts?.membership),
      coordinator: pick(options.metricsPorts?.coordinator),
      storage: nodes.map((i) => pick(metricsBase ? metricsBase + i : 0)),
      rateLimiter: options.rateLimiterPort === undefined || options.rateLimiterPort === false ? 0 : pick(options.metricsPorts?.rateLimiter),
      antiEntropy: options.antiEntropyPort === undefined || options.antiEntropyPort === false ? 0 : pick(options.metricsPorts?.antiEntropy),
    },
  };
  return { plan, needed: used };
}

/** A running local cluster of real processes on loopback. */
export class LocalCluster {
  private constructor(
    readonly options: LocalClusterOptions,
    /** The key file the coordinator signs contexts with (start other coordinators with it too). */
    readonly contextKeysFile: string,
    public membership: ServiceProcess,
    readonly storageNodes: StorageNodeInfo[],
    public coordinator: ServiceProcess,
    public rateLimiter: ServiceProcess | undefined,
    /** The anti-entropy worker, when one was asked for. */
    public antiEntropy: ServiceProcess | undefined,
    /** The nats-server behind hinted handoff, when hints are on. */
    public nats: NatsServer | undefined,
    /** Why hints are off, when they were asked for and could not be had. */
    readonly hintsOffReason: string | undefined,
    /** The development certificates, when the cluster runs with TLS. */
    readonly tls: DevCertificates | undefined,
  ) {}

  /** The ports reserved for this cluster (those asked as 0), released by {@link stop}. */
  private reservation: PortReservation | undefined;

  /**
   * Starts the membership service, then the storage nodes (each joins the ring through it), then
   * the rate limiter and the coordinator, which follow the ring through it too; resolves once every
   * node is NORMAL in the ring and the coordinator reports SERVING.
   * Ports asked as 0 are reserved first; if a program that ignores reservations took one before
   * its service bound it, the cluster starts again on other ports.
   */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    for (const s of ['membership', 'storage-node', 'coordinator'] as const) {
      if (!existsSync(serviceEntry(s))) throw new Error(`${serviceEntry(s)} is missing: run \`npm run build\` first`);
    }
    // Before any service starts: they read these files as they start.
    const tls = options.tls === true ? await ensureDevCertificates(options.dataDir) : undefined;
    const { needed, plan } = planPorts(options, []);
    if (needed === 0) return LocalCluster.startWith(options, plan, tls);
    const { value, reservation } = await withReservedPorts(needed, (ports) => LocalCluster.startWith(options, planPorts(options, ports).plan, tls), {
      host: options.host ?? '127.0.0.1',
    });
    value.reservation = reservation;
    return value;
  }

  private static async startWith(options: LocalClusterOptions, ports: PortPlan, tls: DevCertificates | undefined): Promise<LocalCluster> {
    const count = options.nodes ?? 3;
    const started: ServiceProcess[] = [];
    // First, and stopped last: every service that takes part in hinted handoff connects to it.
    const hints = options.hints ? await startHintsServer(options.hints, join(options.dataDir, 'nats'), options.logToFiles === false ? undefined : join(options.dataDir, 'logs', 'nats.log')) : undefined;
    const natsArgs = hints?.server ? ['--nats', hints.server.url] : [];
    options = { ...options, membershipArgs: [...natsArgs, ...(options.membershipArgs ?? [])], storageArgs: [...natsArgs, ...(options.storageArgs ?? [])], coordinatorArgs: [...natsArgs, ...(options.coordinatorArgs ?? [])] };
    try {
      const membership = await LocalCluster.startMembership(options, ports, tls);
      started.push(membership);
      const seeds = membership.address;
      const storageNodes: StorageNodeInfo[] = [];
      const starts = [];
      for (let i = 1; i <= count; i++) {
        const id = `node-${i}`;
        const dataDir = join(options.dataDir, id);
        starts.push(
          LocalCluster.startStorageNode(options, id, dataDir, seeds, { port: ports.storage[i - 1] ?? 0, metricsPort: ports.metrics.storage[i - 1] ?? 0 }, tls).then((p) => {
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
      if (ports.rateLimiter !== undefined) {
        rateLimiter = await ServiceProcess.start({
          name: 'rate-limiter',
          entry: serviceEntry('rate-limiter'),
          args: [
            '--listen',
            `${options.host ?? '127.0.0.1'}:${ports.rateLimiter}`,
            '--rules',
            options.rulesDir ?? defaultRulesDir,
            '--seeds',
            seeds,
            ...LocalCluster.metricsListen(options, ports.metrics.rateLimiter),
            ...LocalCluster.tlsArgs(tls, 'rate-limiter'),
            ...(options.rateLimiterArgs ?? []),
          ],
          ...LocalCluster.common(options, 'rate-limiter', 'rate-limiter'),
        });
        started.push(rateLimiter);
      }
      const contextKeysFile = options.contextKeysFile ?? ensureContextKeys(options.dataDir);
      const coordinator = await LocalCluster.startCoordinator(options, seeds, rateLimiter, ports, contextKeysFile, tls);
      started.push(coordinator);
      const readyMs = options.readyTimeoutMs ?? 60_000;
      const until = Date.now() + readyMs;
      const probe = tls === undefined ? undefined : devChannelCredentials(tls);
      await waitForRing([seeds], storageNodes.map((s) => s.id), readyMs, probe);
      await waitForServing(coordinator.address, 'the coordinator', Math.max(1_000, until - Date.now()), probe);
      // Last: its first pass starts as soon as it sees the ring, every node in it.
      let antiEntropy: ServiceProcess | undefined;
      if (ports.antiEntropy !== undefined) {
        antiEntropy = await ServiceProcess.start({
          name: 'anti-entropy',
          entry: serviceEntry('anti-entropy'),
          args: [
            '--listen',
            `${options.host ?? '127.0.0.1'}:${ports.antiEntropy}`,
            '--seeds',
            seeds,
            ...LocalCluster.metricsListen(options, ports.metrics.antiEntropy),
            ...LocalCluster.tlsArgs(tls, 'anti-entropy'),
            ...(options.antiEntropyArgs ?? []),
          ],
          ...LocalCluster.common(options, 'anti-entropy', 'anti-entropy'),
        });
        started.push(antiEntropy);
      }
      return new LocalCluster(options, contextKeysFile, membership, storageNodes, coordinator, rateLimiter, antiEntropy, hints?.server, hints?.offReason, tls);
    } catch (err) {
      await Promise.all(started.map((p) => p.stop(2_000)));
      await hints?.server?.stop();
      throw err;
    }
  }

  private static common(
    options: LocalClusterOptions,
    name: string,
    service: Parameters<typeof serviceNodeArgs>[0],
  ): { env?: NodeJS.ProcessEnv; logFile?: string; nodeArgs: readonly string[]; detached: boolean } {
    return {
      detached: options.detached ?? false,
      nodeArgs: [...serviceNodeArgs(service), ...(options.nodeArgs ?? [])],
      env: serviceEnv(options.env, name),
      ...(options.logToFiles === false ? {} : { logFile: join(options.dataDir, 'logs', `${name}.log`) }),
    };
  }

  private static metricsListen(options: LocalClusterOptions, port: number): string[] {
    return ['--metrics-listen', `${options.host ?? '127.0.0.1'}:${port}`];
  }

  private static tlsArgs(tls: DevCertificates | undefined, role: DevServiceRole): string[] {
    return tls === undefined ? [] : devTlsArgs(tls, role);
  }

  private static startMembership(options: LocalClusterOptions, ports: PortPlan, tls: DevCertificates | undefined): Promise<ServiceProcess> {
    const n = options.replicationFactor ?? Math.min(3, options.nodes ?? 3);
    return ServiceProcess.start({
      name: 'membership',
      entry: serviceEntry('membership'),
      args: [
        '--listen',
        `${options.host ?? '127.0.0.1'}:${ports.membership}`,
        '--data-dir',
        join(options.dataDir, 'membership'),
        // Only when the cluster state is created (the first start on this data folder).
        '--replication-factor',
        String(n),
        ...LocalCluster.metricsListen(options, ports.metrics.membership),
        ...LocalCluster.tlsArgs(tls, 'membership'),
        ...(options.membershipArgs ?? []),
      ],
      ...LocalCluster.common(options, 'membership', 'membership'),
    });
  }

  private static startStorageNode(
    options: LocalClusterOptions,
    id: string,
    dataDir: string,
    seeds: string,
    ports: { readonly port: number; readonly metricsPort: number },
    tls: DevCertificates | undefined,
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
        '--seeds',
        seeds,
        ...LocalCluster.metricsListen(options, ports.metricsPort),
        ...LocalCluster.tlsArgs(tls, 'storage-node'),
        ...(options.storageArgs ?? []),
      ],
      ...LocalCluster.common(options, id, 'storage-node'),
    });
  }

  private static startCoordinator(
    options: LocalClusterOptions,
    seeds: string,
    rateLimiter: ServiceProcess | undefined,
    ports: PortPlan,
    contextKeysFile: string,
    tls: DevCertificates | undefined,
  ): Promise<ServiceProcess> {
    return ServiceProcess.start({
      name: 'coordinator',
      entry: serviceEntry('coordinator'),
      args: [
        '--listen',
        `${options.host ?? '127.0.0.1'}:${ports.coordinator}`,
        '--seeds',
        seeds,
        '--context-keys-file',
        contextKeysFile,
        ...(rateLimiter ? ['--rate-limiter', rateLimiter.address] : []),
        ...LocalCluster.metricsListen(options, ports.metrics.coordinator),
        // The client API too, client certificates required: `qkv --tls-dir <dataDir>/tls`.
        ...(tls === undefined ? [] : [...devTlsArgs(tls, 'coordinator'), '--tls-client-certs', 'required']),
        ...(options.coordinatorArgs ?? []),
      ],
      ...LocalCluster.common(options, 'coordinator', 'coordinator'),
    });
  }

  /** The coordinator's address, for clients. */
  get address(): string {
    return this.coordinator.address;
  }

  /** The membership service's address (the seed every process joins through; `qkv cluster …` talks to it). */
  get membershipAddress(): string {
    return this.membership.address;
  }

  /**
   * Every service process with its Prometheus job name (`storage-node`, `coordinator`,
   * `rate-limiter`: the names the alerts and the dashboard use) and instance name.
   */
  services(): { readonly job: ServiceJob; readonly instance: string; readonly process: ServiceProcess }[] {
    return [
      { job: 'membership' as const, instance: 'membership', process: this.membership },
      ...this.storageNodes.map((s) => ({ job: 'storage-node' as const, instance: s.id, process: s.process })),
      { job: 'coordinator' as const, instance: 'coordinator', process: this.coordinator },
      ...(this.rateLimiter ? [{ job: 'rate-limiter' as const, instance: 'rate-limiter', process: this.rateLimiter }] : []),
      ...(this.antiEntropy ? [{ job: 'anti-entropy' as const, instance: 'anti-entropy', process: this.antiEntropy }] : []),
    ];
  }

  node(id: string): StorageNodeInfo {
    const n = this.storageNodes.find((s) => s.id === id);
    if (!n) throw new Error(`no storage node ${id}`);
    return n;
  }

  /**
   * The service called `name` (`membership`, `node-1`…, `coordinator`, `rate-limiter`).
   * @throws Error naming the services there are, for an unknown name.
   */
  service(name: string): { readonly job: ServiceJob; readonly instance: string; readonly process: ServiceProcess } {
    const found = this.services().find((s) => s.instance === name);
    if (!found) throw new Error(`no service ${name} (there are ${this.services().map((s) => s.instance).join(', ')})`);
    return found;
  }

  /**
   * Starts a service again (stopping it first if it still runs) with the same command line: the
   * same ports, so the coordinator and clients find it where it was, and a storage node keeps
   * its LevelDB folder.
   */
  async restart(name: string, graceMs = 10_000): Promise<ServiceProcess> {
    const old = this.service(name).process;
    if (old.running) await old.stop(graceMs);
    const fresh = await ServiceProcess.start(old.spec);
    if (name === 'coordinator') this.coordinator = fresh;
    else if (name === 'rate-limiter') this.rateLimiter = fresh;
    else if (name === 'membership') this.membership = fresh;
    else if (name === 'anti-entropy') this.antiEntropy = fresh;
    else this.node(name).process = fresh;
    return fresh;
  }

  /** Restarts a stopped or killed storage node on the same ports and data folder. */
  async restartNode(id: string): Promise<void> {
    this.node(id);
    await this.restart(id);
  }

  /**
   * Stops every process (SIGTERM, then SIGKILL after the grace period) — the coordinator first,
   * the membership service last, so it hears the others leave — then frees its reserved ports.
   */
  async stop(graceMs = 10_000): Promise<void> {
    await this.antiEntropy?.stop(graceMs);
    await this.coordinator.stop(graceMs);
    await Promise.all([...this.storageNodes.map((s) => s.process.stop(graceMs)), this.rateLimiter?.stop(graceMs)]);
    await this.membership.stop(graceMs);
    // Last: hints not yet delivered stay in its store for the next start.
    await this.nats?.stop(graceMs);
    this.reservation?.release();
  }
}
