/**
 * A TCP proxy for one network link, which can delay, lose, throttle and cut what crosses it.
 * The kernel here has no `netem`, so the suite puts one of these in front of each link it wants
 * to degrade, in the *sending* process's namespace: the proxy's upstream connection still
 * leaves from that namespace, so partition rules apply to it as to the process itself.
 *
 * A byte stream cannot lose bytes, so loss is modelled as TCP itself turns it into delay: a
 * lost segment holds everything behind it until it is retransmitted, at least one RTO later
 * (200 ms, Linux's minimum). Order is always kept.
 */
import net from 'node:net';
import { Random } from './random.js';

/** How a link behaves. The neutral shape forwards at once. */
export interface LinkShape {
  /** Added to every chunk, in ms. */
  readonly delayMs: number;
  /** Up to this much more, uniformly, per chunk (order is kept). */
  readonly jitterMs: number;
  /** Chance that a chunk is "lost" and held for a retransmission timeout. */
  readonly lossRate: number;
  /** Throughput bound in bytes/s; 0 is unbounded. */
  readonly bytesPerSecond: number;
  /** True: nothing crosses (held until uncut), like a silent partition of this link alone. */
  readonly cut: boolean;
}

export const NEUTRAL_SHAPE: LinkShape = { delayMs: 0, jitterMs: 0, lossRate: 0, bytesPerSecond: 0, cut: false };

/** Linux's minimum retransmission timeout: the least a lost segment costs a TCP stream. */
const RTO_MS = 200;

/** One direction of one proxied connection: chunks leave in order, each at its release time. */
class ShapedPipe {
  private readonly queue: { chunk: Buffer; releaseAt: number }[] = [];
  private lastRelease = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly link: LinkProxy,
  ) {
    from.on('data', (chunk: Buffer) => this.push(chunk));
    to.on('drain', () => from.resume());
  }

  /** Re-plans after a shape change (a cut link resumes, a slow one speeds up). */
  reshape(): void {
    if (this.link.shape.cut) return;
    this.flush();
  }

  private push(chunk: Buffer): void {
    const shape = this.link.shape;
    if (this.queue.length === 0 && !shape.cut && isNeutral(shape)) {
      this.write(chunk);
      return;
    }
    const now = performance.now();
    let release = Math.max(this.lastRelease, now + shape.delayMs + this.link.random.between(0, shape.jitterMs));
    if (shape.lossRate > 0 && this.link.random.chance(shape.lossRate)) release += RTO_MS;
    if (shape.bytesPerSecond > 0) release += (chunk.length * 1000) / shape.bytesPerSecond;
    this.lastRelease = release;
    this.queue.push({ chunk, releaseAt: release });
    this.flush();
  }

  private flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.link.shape.cut) return;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.releaseAt <= now) this.write(this.queue.shift()!.chunk);
    const head = this.queue[0];
    if (head !== undefined) this.timer = setTimeout(() => this.flush(), Math.max(1, head.releaseAt - now));
  }

  private write(chunk: Buffer): void {
    if (!this.to.destroyed && !this.to.write(chunk)) this.from.pause();
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.queue.length = 0;
  }
}

function isNeutral(s: LinkShape): boolean {
  return s.delayMs === 0 && s.jitterMs === 0 && s.lossRate === 0 && s.bytesPerSecond === 0;
}

/** Listens on `listen` and forwards each connection to `target` through the link's shape. */
export class LinkProxy {
  shape: LinkShape = NEUTRAL_SHAPE;
  readonly random: Random;
  private readonly server: net.Server;
  private readonly pipes = new Set<ShapedPipe>();
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    readonly name: string,
    readonly target: { readonly host: string; readonly port: number },
    seed: number,
  ) {
    this.random = new Random(seed, `link:${name}`);
    this.server = net.createServer((client) => this.accept(client));
  }

  /** Starts a proxy for link `name` on `listen` (host:port) towards `target` (host:port). */
  static async start(name: string, listen: string, target: string, seed: number): Promise<LinkProxy> {
    const proxy = new LinkProxy(name, splitHostPort(target), seed);
    const l = splitHostPort(listen);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(l.port, l.host, () => resolve());
    });
    return proxy;
  }

  /** The bound address, `host:port`. */
  get address(): string {
    const a = this.server.address() as net.AddressInfo;
    return `${a.address}:${a.port}`;
  }

  setShape(shape: LinkShape): void {
    this.shape = shape;
    for (const p of this.pipes) p.reshape();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const p of this.pipes) p.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    client.setNoDelay(true);
    const upstream = net.connect({ host: this.target.host, port: this.target.port, noDelay: true });
    this.sockets.add(client).add(upstream);
    const there = new ShapedPipe(client, upstream, this);
    const back = new ShapedPipe(upstream, client, this);
    this.pipes.add(there).add(back);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      there.close();
      back.close();
      this.pipes.delete(there);
      this.pipes.delete(back);
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  }
}

function splitHostPort(hostPort: string): { host: string; port: number } {
  const i = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) };
}
