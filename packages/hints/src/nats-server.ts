import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { NatsServerMissingError, NatsServerStartError } from './errors.js';

/** How to run a `nats-server` with JetStream. */
export interface NatsServerOptions {
  /** JetStream's store folder (hints survive a restart of the server there). */
  readonly storeDir: string;
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** Client port; 0 lets the server pick a free one (read back from its log). @default 0 */
  readonly port?: number;
  /** The executable. @default nats-server (from PATH; Debian's package, `scripts/install-deps.sh`) */
  readonly command?: string;
  /** Called with every line the server logs (for a log file). */
  readonly onLog?: (line: string) => void;
  /** How long to wait for the server to listen. @default 10000 */
  readonly startTimeoutMs?: number;
}

const LISTENING = /Listening for client connections on (\S+):(\d+)/;

/**
 * A `nats-server -js` child process on loopback: the durable queue behind hinted handoff for
 * `npm start` and the tests. Started once it logs that it listens for clients (JetStream is
 * enabled by then: the server starts JetStream before opening the client port).
 */
export class NatsServer {
  private constructor(
    readonly options: NatsServerOptions,
    private child: ChildProcess,
    private exit: Promise<number | null>,
    /** `nats://HOST:PORT`. */
    readonly url: string,
    readonly port: number,
  ) {}

  /** Whether the executable can be run here (`nats-server --version` succeeds). */
  static available(command = 'nats-server'): boolean {
    const r = spawnSync(command, ['--version'], { stdio: 'ignore' });
    return r.status === 0;
  }

  /**
   * Starts the server and resolves once it listens.
   * @throws NatsServerMissingError when the executable is not installed.
   * @throws NatsServerStartError when it exits or stays silent first (a taken port, a bad folder).
   */
  static async start(options: NatsServerOptions): Promise<NatsServer> {
    const command = options.command ?? 'nats-server';
    if (!NatsServer.available(command)) throw new NatsServerMissingError(command);
    mkdirSync(options.storeDir, { recursive: true });
    const host = options.host ?? '127.0.0.1';
    // -1 is nats-server's "any free port"; the chosen one is read back from its log.
    const port = options.port === undefined || options.port === 0 ? -1 : options.port;
    const child = spawn(command, ['-js', '-sd', options.storeDir, '-a', host, '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal === null ? null : -1))));
    const tail: string[] = [];
    const found = await new Promise<number>((resolve, reject) => {
      const timeoutMs = options.startTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new NatsServerStartError(`not listening within ${timeoutMs} ms`, tail.join('\n')));
      }, timeoutMs);
      const onLine = (line: string): void => {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        options.onLog?.(line);
        const m = LISTENING.exec(line);
        if (m !== null) {
          clearTimeout(timer);
          resolve(Number(m[2]));
        }
      };
      createInterface({ input: child.stderr }).on('line', onLine);
      createInterface({ input: child.stdout }).on('line', onLine);
      void exit.then((code) => {
        clearTimeout(timer);
        reject(new NatsServerStartError(`exited with code ${code} before listening`, tail.join('\n')));
      });
    });
    return new NatsServer({ ...options, port: found }, child, exit, `nats://${host}:${found}`, found);
  }

  /** True until the process exits. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends a signal (SIGKILL for crash tests). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.child.kill(signal);
  }

  /** Resolves when the process has exited. */
  async exited(): Promise<void> {
    await this.exit;
  }

  /** SIGTERM (the server flushes JetStream and exits), then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exit;
    clearTimeout(timer);
  }

  /** Starts the server again on the same port and store folder (after a stop or a kill). */
  async restart(): Promise<NatsServer> {
    await this.stop();
    return NatsServer.start({ ...this.options, port: this.port });
  }
}
