/**
 * Test support: a living-ring cluster of real processes — the membership service, storage nodes
 * that join it by themselves (--seeds), a coordinator that follows the ring, and the anti-entropy
 * worker — on reserved loopback ports, so a node stopped (or wiped) and started again comes back
 * at the same address with the same id. Every process is stopped (and its ports released) by
 * `stop()`; logs are kept under `<dataDir>/logs` for a failing run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterViewClient } from '@quorumkv/cluster-view';
import {
  devTlsArgs,
  ensureContextKeys,
  ensureDevCertificates,
  repoRoot,
  reservePorts,
  ServiceProcess,
  type DevCertificates,
  type DevServiceRole,
  type PortReservation,
} from '@quorumkv/local-cluster';
import type { RingView } from '@quorumkv/ring';
import { clusterCredentials, E2E_TLS, eventually } from './test-cluster.js';

/** Options of {@link RingCluster.start}. */
export interface RingClusterOptions {
  readonly nodes?: number;
  /** Mutual TLS between every process. @default QKV_E2E_TLS=1 */
  readonly tls?: boolean;
  /** Extra flags of the anti-entropy worker. */
  readonly antiEntropyArgs?: readonly string[];
  readonly storageArgs?: readonly string[];
  /** Extra flags of one storage node, given its id and listen address (after `storageArgs`). */
  readonly storageArgsFor?: (id: string, listen: string) => readonly string[];
  /** Extra flags of the coordinator. */
  readonly coordinatorArgs?: readonly string[];
  /** Start the anti-entropy worker with the cluster (else `startAntiEntropy()` later). @default true */
  readonly antiEntropy?: boolean;
}

function entry(service: string): string {
  return join(repoRoot, 'services', service, 'dist', 'main.js');
}

/** See the file comment. */
export class RingCluster {
  readonly nodes = new Map<string, ServiceProcess>();
  coordinator!: ServiceProcess;
  antiEntropy: ServiceProcess | undefined;
  membership!: ServiceProcess;
  private view!: ClusterViewClient;

  private constructor(
    readonly dataDir: string,
    private readonly ports: PortReservation,
    private readonly options: RingClusterOptions,
    /** With `QKV_E2E_TLS=1`: the development certificates every process uses (mutual TLS). */
    readonly tls: DevCertificates | undefined,
  ) {}

  /** Starts membership, the storage nodes (waiting until every one is NORMAL), the coordinator and the worker. */
  static async start(options: RingClusterOptions = {}): Promise<RingCluster> {
    const count = options.nodes ?? 3;
    const dataDir = mkdtempSync(join(tmpdir(), 'qkv-ae-'));
    // membership, the nodes, the coordinator, the worker.
    const ports = await reservePorts(count + 3);
    const tls = (options.tls ?? E2E_TLS) ? await ensureDevCertificates(dataDir) : undefined;
    const cluster = new RingCluster(dataDir, ports, options, tls);
    try {
      await cluster.boot(count);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  private port(i: number): number {
    return this.ports.ports[i] as number;
  }

  private async boot(count: number): Promise<void> {
    this.membership = await ServiceProcess.start({
      name: 'membership',
      entry: entry('membership'),
      args: ['--listen', `127.0.0.1:${this.port(0)}`, '--data-dir', join(this.dataDir, 'membership'), '--metrics-listen', '127.0.0.1:0', ...this.tlsArgs('membership')],
      env: { LOG_LEVEL: 'info' },
      logFile: join(this.dataDir, 'logs', 'membership.log'),
    });
    this.view = new ClusterViewClient({ seeds: [this.seed], watcherId: 'test', role: 'coordinator', credentials: clusterCredentials(this, 'coordinator') });
    this.view.start();
    for (let i = 1; i <= count; i++) await this.startNode(`node-${i}`);
    await this.ringSettles((ring) => ring.current.nodes().length === count);
    this.coordinator = await ServiceProcess.start({
      name: 'coordinator',
      entry: entry('coordinator'),
      args: [
        '--listen',
        `127.0.0.1:${this.port(count + 1)}`,
        '--seeds',
        this.seed,
        '--context-keys-file',
        ensureContextKeys(this.dataDir),
        '--metrics-listen',
        '127.0.0.1:0',
        ...this.tlsArgs('coordinator'),
        ...(this.options.coordinatorArgs ?? []),
      ],
      env: { LOG_LEVEL: 'warn' },
      logFile: join(this.dataDir, 'logs', 'coordinator.log'),
    });
    if (this.options.antiEntropy !== false) this.antiEntropy = await this.startAntiEntropy();
  }

  private tlsArgs(role: DevServiceRole): string[] {
    return this.tls === undefined ? [] : devTlsArgs(this.tls, role);
  }

  /** `qkv --tls-dir DIR` with TLS, else nothing. */
  get qkvTlsArgs(): string[] {
    return this.tls === undefined ? [] : ['--tls-dir', this.tls.dir];
  }

  /** The membership service's address (every process's --seeds). */
  get seed(): string {
    return `127.0.0.1:${this.port(0)}`;
  }

  /** The anti-entropy worker's admin address. */
  get antiEntropyAddress(): string {
    return `127.0.0.1:${this.port((this.options.nodes ?? 3) + 2)}`;
  }

  /** The committed ring the test process sees now. */
  get ring(): RingView {
    const ring = this.view.current?.ring;
    if (ring === undefined) throw new Error('no ring yet');
    return ring;
  }

  /** The data folder of a storage node. */
  nodeDir(id: string): string {
    return join(this.dataDir, id);
  }

  /** Starts (or starts again, at the same address and folder) a storage node. */
  async startNode(id: string): Promise<ServiceProcess> {
    const index = Number(id.split('-')[1]);
    const node = await ServiceProcess.start({
      name: id,
      entry: entry('storage-node'),
      args: [
        '--id',
        id,
        '--listen',
        `127.0.0.1:${this.port(index)}`,
        '--data-dir',
        this.nodeDir(id),
        '--seeds',
        this.seed,
        '--metrics-listen',
        '127.0.0.1:0',
        '--grace-ms',
        '3000',
        ...this.tlsArgs('storage-node'),
        ...(this.options.storageArgs ?? []),
        ...(this.options.storageArgsFor?.(id, `127.0.0.1:${this.port(index)}`) ?? []),
      ],
      env: { LOG_LEVEL: 'info' },
      logFile: join(this.dataDir, 'logs', `${id}.log`),
    });
    this.nodes.set(id, node);
    return node;
  }

  /** Stops a storage node cleanly (SIGTERM: it saves its trees). */
  async stopNode(id: string): Promise<void> {
    await this.nodes.get(id)?.stop(5_000);
  }

  /** A storage node's address. */
  nodeAddress(id: string): string {
    return `127.0.0.1:${this.port(Number(id.split('-')[1]))}`;
  }

  async startAntiEntropy(): Promise<ServiceProcess> {
    this.antiEntropy = await ServiceProcess.start({
      name: 'anti-entropy',
      entry: entry('anti-entropy'),
      args: ['--listen', this.antiEntropyAddress, '--seeds', this.seed, '--metrics-listen', '127.0.0.1:0', ...this.tlsArgs('anti-entropy'), ...(this.options.antiEntropyArgs ?? [])],
      env: { LOG_LEVEL: 'info' },
      logFile: join(this.dataDir, 'logs', 'anti-entropy.log'),
    });
    return this.antiEntropy;
  }

  /** The coordinator's address. */
  get coordinatorAddress(): string {
    return this.coordinator.address;
  }

  /** Waits until the ring has no change pending and `check` holds of it. */
  async ringSettles(check: (ring: RingView) => boolean, timeoutMs = 60_000): Promise<RingView> {
    await eventually(() => {
      const ring = this.view.current?.ring;
      if (ring === undefined || ring.changesPending || !check(ring)) throw new Error(`ring not settled: epoch ${ring?.epoch}`);
    }, timeoutMs, 100);
    return this.ring;
  }

  /** Stops every process (SIGTERM, then SIGKILL past the grace), releases the ports, removes the folder. */
  async stop(): Promise<void> {
    this.view?.close();
    const all = [this.antiEntropy, this.coordinator, ...this.nodes.values(), this.membership].filter((p): p is ServiceProcess => p !== undefined);
    await Promise.all(all.map((p) => p.stop(5_000)));
    this.ports.release();
    if (process.env['QKV_KEEP_TEST_DATA'] === undefined) rmSync(this.dataDir, { recursive: true, force: true });
  }
}
