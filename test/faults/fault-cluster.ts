/**
 * A quorumkv cluster for fault injection: a membership service, three storage nodes that join
 * its ring, three rate-limiter replicas, a coordinator that follows the ring (and, when a
 * schedule needs it, the anti-entropy worker), each a real process (`services/<name>/dist/main.js`, started by local-cluster's
 * `ServiceProcess`) inside its own network namespace, with a wall clock the suite can skew and,
 * when asked, a shaping proxy on every link. It can kill -9, restart, pause and resume any of
 * them; partitions are the network's business (`Partitions` in netns.ts).
 *
 * Inside its namespace every service has the bridge address to itself, so it binds fixed ports
 * (7000 gRPC, 9000 metrics): no other process can hold them, and a restarted service comes
 * back where its peers expect it.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ServiceProcess, ensureContextKeys, serviceEntry, serviceNodeArgs, type ServiceProcessSpec } from '@quorumkv/local-cluster';
import { LinkProxy, NEUTRAL_SHAPE, type LinkShape } from './link-proxy.js';
import type { Member, NetworkLayout } from './netns.js';
import { isNormal, ringSettles } from './ring-control.js';

export const SERVICE_PORT = 7000;
const METRICS_PORT = 9000;
/** In a namespace with proxies, the proxy for the link to member i listens on 127.0.0.1:(17000 + i). */
const PROXY_BASE_PORT = 17000;

export type ServiceKind = 'storage-node' | 'coordinator' | 'rate-limiter' | 'membership' | 'anti-entropy';

/** The processes of the cluster, by member name. */
export const STORAGE_NODES = ['node-1', 'node-2', 'node-3'] as const;
export const RATE_LIMITERS = ['rl-1', 'rl-2', 'rl-3'] as const;
/** A storage node that a ring schedule adds while it runs (its namespace exists in every run). */
export const SPARE_NODE = 'node-4';
/**
 * Every member of the fault network: the driver (`ctl`) first, then the services; the ring
 * mode's members last, so the others keep their addresses.
 */
export const MEMBERS = ['ctl', 'coordinator', ...STORAGE_NODES, ...RATE_LIMITERS, 'membership', 'anti-entropy', SPARE_NODE] as const;

export interface FaultClusterOptions {
  readonly layout: NetworkLayout;
  /** Data, logs, clock files and proxy control sockets. */
  readonly runDir: string;
  /** The rate limiter's rules folder. */
  readonly rulesDir: string;
  /** Put a shaping proxy on every link (slow-links schedules). */
  readonly proxied: boolean;
  readonly seed: number;
  /** Also run the anti-entropy worker (the schedules that call `qkv repair`). @default false */
  readonly antiEntropy?: boolean;
}

/** One service: how to start it again, and the process running now. */
class ManagedService {
  paused = false;
  constructor(
    readonly name: string,
    readonly kind: ServiceKind | 'proxy',
    readonly spec: ServiceProcessSpec,
    public process: ServiceProcess,
  ) {}
}

const clockPreload = pathToFileURL(fileURLToPath(new URL('./clock-preload.js', import.meta.url))).href;
const proxyEntry = fileURLToPath(new URL('./link-proxy-main.js', import.meta.url));

export class FaultCluster {
  private readonly services = new Map<string, ManagedService>();
  /** Links the driver's own namespace proxies (client → coordinator), in this process. */
  private readonly localProxies = new Map<string, LinkProxy>();
  /**
   * Every shapable link, `from>to`: the control socket of the proxy process that carries it,
   * or `local` when this process's own proxy does.
   */
  private readonly links = new Map<string, { readonly control: string } | 'local'>();

  private constructor(readonly options: FaultClusterOptions) {}

  /**
   * Starts the proxies (if any), then every service at once: every address is fixed in advance,
   * and the coordinator and the rate limiters connect to their peers as these come up.
   */
  static async start(options: FaultClusterOptions): Promise<FaultCluster> {
    const c = new FaultCluster(options);
    mkdirSync(join(options.runDir, 'clock'), { recursive: true });
    try {
      if (options.proxied) await c.startProxies();
      await c.startRing();
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  /**
   * The membership service first (every other process is seeded with it), then the storage nodes
   * (each joins the ring by itself), the rate limiters and the coordinator at once; then the wait
   * until the ring holds the three nodes NORMAL with nothing moving, and the worker.
   */
  private async startRing(): Promise<void> {
    await this.launch('membership', 'membership');
    const launches = [
      ...STORAGE_NODES.map((n) => this.launch(n, 'storage-node')),
      ...RATE_LIMITERS.map((r) => this.launch(r, 'rate-limiter')),
      this.launch('coordinator', 'coordinator'),
    ];
    // Every start settles before judging, so none outlives a failed start unstopped.
    const failed = (await Promise.allSettled(launches)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await ringSettles(this.membershipAddress, (ring) => STORAGE_NODES.every((n) => isNormal(ring, n)), 90_000);
    if (this.options.antiEntropy) await this.launch('anti-entropy', 'anti-entropy');
  }

  /** The membership service's address (ring mode). */
  get membershipAddress(): string {
    return this.direct('membership');
  }

  /** The anti-entropy worker's admin address (ring mode). */
  get antiEntropyAddress(): string {
    return this.direct('anti-entropy');
  }

  /** Starts a storage node that was not running yet (ring mode: it joins the ring by itself). */
  async addStorageNode(name: string): Promise<void> {
    if (this.services.has(name)) throw new Error(`${name} is already in the fault cluster`);
    await this.launch(name, 'storage-node');
  }

  /** Stops a storage node for good (SIGTERM) and forgets it: a decommissioned node's end. */
  async removeStorageNode(name: string): Promise<void> {
    const s = this.service(name);
    if (s.paused) this.resume(name);
    await s.process.stop(2_000);
    this.services.delete(name);
  }

  /** Deletes a (stopped) storage node's data folder: a disk replaced under the same id. */
  wipe(name: string): void {
    if (this.service(name).process.running) throw new Error(`${name} is running: kill it before wiping its data`);
    rmSync(join(this.options.runDir, 'data', name), { recursive: true, force: true });
  }

  /** Where clients reach the coordinator (through the client link's proxy when proxied). */
  get coordinatorAddress(): string {
    return this.options.proxied ? this.localProxies.get('ctl>coordinator')!.address : this.direct('coordinator');
  }

  /** A member's own address (for reading a replica straight, bypassing every proxy). */
  direct(name: string): string {
    return `${this.member(name).ip}:${SERVICE_PORT}`;
  }

  /** The shapable links (`from>to`); empty unless the cluster is proxied. */
  linkNames(): string[] {
    return [...this.links.keys()];
  }

  /** Kills a service with SIGKILL (a crash: no drain, no flush) and waits until it is gone. */
  async kill(name: string): Promise<void> {
    const s = this.service(name);
    if (s.paused) this.resume(name);
    s.process.kill('SIGKILL');
    await s.process.exited();
    await s.process.stop(0);
  }

  /** Starts a killed service again with the same flags, data folder and address. */
  async restart(name: string): Promise<void> {
    const s = this.service(name);
    if (s.process.running) return;
    s.process = await ServiceProcess.start(s.spec);
  }

  /** SIGSTOP: the process holds its sockets but answers nothing, as a long GC pause or a hung VM. */
  pause(name: string): void {
    const s = this.service(name);
    if (!s.process.running || s.paused) return;
    s.process.kill('SIGSTOP');
    s.paused = true;
  }

  resume(name: string): void {
    const s = this.service(name);
    if (!s.paused) return;
    s.process.kill('SIGCONT');
    s.paused = false;
  }

  /** Moves a service's wall clock `offsetMs` away from the host's (it reads the file within 50 ms). */
  setClock(name: string, offsetMs: number): void {
    this.service(name);
    writeFileSync(this.clockFile(name), String(Math.round(offsetMs)));
  }

  /** Shapes one link (`from>to`) of a proxied cluster. */
  async shapeLink(link: string, shape: LinkShape): Promise<void> {
    const where = this.links.get(link);
    if (where === undefined) throw new Error(`no shapable link ${link} (is the schedule proxied?)`);
    if (where === 'local') {
      this.localProxies.get(link)!.setShape(shape);
      return;
    }
    await sendControl(where.control, JSON.stringify({ link, shape }));
  }

  /**
   * Ends every process fault: resumes paused services, restarts killed ones, puts clocks back and
   * links to neutral. (Partitions are healed by their owner.)
   */
  async healProcesses(): Promise<void> {
    for (const s of this.services.values()) if (s.kind !== 'proxy') this.resume(s.name);
    for (const s of this.services.values()) if (s.kind !== 'proxy') this.setClock(s.name, 0);
    await Promise.all([...this.links.keys()].map((l) => this.shapeLink(l, NEUTRAL_SHAPE)));
    for (const s of this.services.values()) if (!s.process.running) await this.restart(s.name);
  }

  /** Service names of a kind. */
  names(kind: ServiceKind): string[] {
    return [...this.services.values()].filter((s) => s.kind === kind).map((s) => s.name);
  }

  /** Stops everything: SIGCONT, SIGTERM, SIGKILL after a second. */
  async stop(): Promise<void> {
    const all = [...this.services.values()];
    for (const s of all) if (s.paused) this.resume(s.name);
    const coordinator = this.services.get('coordinator');
    if (coordinator) await coordinator.process.stop(1_000);
    await Promise.all(all.map((s) => s.process.stop(1_000)));
    await Promise.all([...this.localProxies.values()].map((p) => p.close()));
  }

  private async launch(name: string, kind: ServiceKind): Promise<void> {
    const m = this.member(name);
    const listen = [`--listen`, `${m.ip}:${SERVICE_PORT}`, '--metrics-listen', `${m.ip}:${METRICS_PORT}`, '--grace-ms', '1000'];
    const seeds = ['--seeds', this.direct('membership')];
    const args = ((): string[] => {
      switch (kind) {
        case 'storage-node':
          return ['--id', name, ...listen, '--data-dir', join(this.options.runDir, 'data', name), ...seeds];
        case 'rate-limiter':
          return ['--id', name, ...listen, '--rules', this.options.rulesDir, '--replicas', RATE_LIMITERS.map((r) => `${r}=${this.via(name, r)}`).join(',')];
        case 'membership':
          return [...listen, '--data-dir', join(this.options.runDir, 'data', name), '--replication-factor', '3'];
        case 'anti-entropy':
          // A pass every 10 s: the worker also repairs on its own between the suite's requests.
          return [...listen, ...seeds, '--period-ms', '10000'];
        case 'coordinator':
          return [
            ...listen,
            ...seeds,
            '--rate-limiter',
            this.via(name, 'rl-1'),
            '--context-keys-file',
            ensureContextKeys(this.options.runDir),
          ];
      }
    })();
    writeFileSync(this.clockFile(name), '0');
    const spec: ServiceProcessSpec = {
      name,
      entry: serviceEntry(kind),
      args,
      nodeArgs: [...serviceNodeArgs(kind), '--import', clockPreload],
      env: { LOG_LEVEL: 'warn', QKVF_CLOCK_FILE: this.clockFile(name) },
      commandPrefix: ['ip', 'netns', 'exec', m.ns],
      logFile: join(this.options.runDir, 'logs', `${name}.log`),
      // Generous: a node that reopens a large folder after kill -9, on a loaded 2-core box.
      startTimeoutMs: 60_000,
    };
    this.services.set(name, new ManagedService(name, kind, spec, await ServiceProcess.start(spec)));
  }

  /** The address `from` dials to reach `to`: its own proxy for that link, or `to` itself. */
  private via(from: string, to: string): string {
    return this.options.proxied ? `127.0.0.1:${this.proxyPort(to)}` : this.direct(to);
  }

  private proxyPort(to: string): number {
    return PROXY_BASE_PORT + this.options.layout.members.findIndex((m) => m.name === to);
  }

  /**
   * One proxy process per namespace that dials others (coordinator → nodes and rl-1, each rate
   * limiter → its peers), and the client's proxy to the coordinator in this process.
   */
  private async startProxies(): Promise<void> {
    const outgoing: [string, string[]][] = [
      ['coordinator', [...STORAGE_NODES, 'rl-1']],
      ...RATE_LIMITERS.map((r): [string, string[]] => [r, RATE_LIMITERS.filter((p) => p !== r)]),
    ];
    await Promise.all(outgoing.map(([from, targets]) => this.startProxyProcess(from, targets)));
    const link = 'ctl>coordinator';
    this.localProxies.set(link, await LinkProxy.start(link, `127.0.0.1:${this.proxyPort('coordinator')}`, this.direct('coordinator'), this.options.seed));
    this.links.set(link, 'local');
  }

  private async startProxyProcess(from: string, targets: readonly string[]): Promise<void> {
    const control = join(this.options.runDir, `proxy-${from}.sock`);
    const linkArgs = targets.flatMap((t) => ['--link', `${from}>${t}=127.0.0.1:${this.proxyPort(t)}>${this.direct(t)}`]);
    const spec: ServiceProcessSpec = {
      name: `proxy-${from}`,
      entry: proxyEntry,
      args: ['--control', control, '--seed', String(this.options.seed), ...linkArgs],
      commandPrefix: ['ip', 'netns', 'exec', this.member(from).ns],
      logFile: join(this.options.runDir, 'logs', `proxy-${from}.log`),
    };
    this.services.set(spec.name, new ManagedService(spec.name, 'proxy', spec, await ServiceProcess.start(spec)));
    for (const t of targets) this.links.set(`${from}>${t}`, { control });
  }

  private clockFile(name: string): string {
    return join(this.options.runDir, 'clock', name);
  }

  private service(name: string): ManagedService {
    const s = this.services.get(name);
    if (!s) throw new Error(`no service ${name} in the fault cluster`);
    return s;
  }

  private member(name: string): Member {
    const m = this.options.layout.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name} in the fault network`);
    return m;
  }
}

/** Sends one command line to a proxy's control socket and waits for `ok`. */
function sendControl(path: string, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let answer = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error(`proxy control ${path}: no answer`)));
    socket.on('connect', () => socket.write(line + '\n'));
    socket.on('data', (d) => {
      answer += String(d);
      if (!answer.includes('\n')) return;
      socket.end();
      if (answer.startsWith('ok')) resolve();
      else reject(new Error(`proxy control ${path}: ${answer.trim()}`));
    });
    socket.on('error', reject);
  });
}
