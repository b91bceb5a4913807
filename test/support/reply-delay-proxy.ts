/**
 * Test support: a TCP proxy in front of one server that forwards requests at once and holds the
 * server's replies for a while — a server that does its work and answers too late, which is
 * what makes a coordinator give up on a replica that already minted. (The fault suite's link
 * proxy shapes both directions alike; a delayed request would reach the node past its deadline
 * and be dropped, not carried out.) Order is kept in both directions.
 */
import net from 'node:net';

/** See the file comment. */
export class ReplyDelayProxy {
  /** Replies are held this long (0: forwarded at once, behind any still held). */
  delayMs = 0;
  /** Where accepted connections go (`host:port`); set before the first connection. */
  target = '';
  private readonly server = net.createServer((client) => this.accept(client));
  private readonly sockets = new Set<net.Socket>();
  private readonly queues = new Set<readonly unknown[]>();

  private constructor() {}

  /** Starts listening on 127.0.0.1 at a port the OS picks. */
  static async start(): Promise<ReplyDelayProxy> {
    const proxy = new ReplyDelayProxy();
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** Reply chunks held now, over every connection (0 once every reply held was sent). */
  get held(): number {
    let n = 0;
    for (const q of this.queues) n += q.length;
    return n;
  }

  /** The bound address, `127.0.0.1:port`. */
  get address(): string {
    return `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const i = this.target.lastIndexOf(':');
    const upstream = net.connect({ host: this.target.slice(0, i), port: Number(this.target.slice(i + 1)), noDelay: true });
    client.setNoDelay(true);
    this.sockets.add(client).add(upstream);
    client.pipe(upstream);
    // Replies wait in one queue, each until arrival + delay, and leave in order.
    const queue: { chunk: Buffer; at: number }[] = [];
    this.queues.add(queue);
    let timer: NodeJS.Timeout | undefined;
    const drain = (): void => {
      timer = undefined;
      while (queue.length > 0 && (queue[0]?.at ?? 0) <= Date.now()) {
        const head = queue.shift();
        if (head !== undefined && !client.destroyed) client.write(head.chunk);
      }
      if (queue.length > 0) timer = setTimeout(drain, Math.max(0, (queue[0]?.at ?? 0) - Date.now()));
    };
    upstream.on('data', (chunk: Buffer) => {
      queue.push({ chunk, at: Date.now() + this.delayMs });
      if (timer === undefined) drain();
    });
    const end = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      this.queues.delete(queue);
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  }
}
