import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

/** How to start one service process. */
export interface ServiceProcessSpec {
  /** Short name for messages and the log file (`node-1`, `coordinator`). */
  readonly name: string;
  /** The service's compiled entry point (`services/x/dist/main.js`). */
  readonly entry: string;
  readonly args: readonly string[];
  /**
   * Flags for node itself, before the entry (`--max-semi-space-size=32`, `--cpu-prof`). Node 20
   * refuses several of them in NODE_OPTIONS, so they travel on the command line.
   */
  readonly nodeArgs?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /**
   * A command that node is started under, e.g. `['ip', 'netns', 'exec', 'ns1']` to run the
   * service inside a network namespace. It must exec node in place (same pid), so that signals
   * sent to this process (SIGKILL, SIGSTOP) reach the service itself. @default none
   */
  readonly commandPrefix?: readonly string[];
  /** Where the process's stdout and stderr are appended; undefined keeps them in memory only. */
  readonly logFile?: string;
  /** How long to wait for the "listening" log line. @default 20000 */
  readonly startTimeoutMs?: number;
  /**
   * Run in a process group of its own, so that signals a terminal sends to the launcher's group
   * (Ctrl-C) reach only the launcher, which then stops the service once, in its turn. @default false
   */
  readonly detached?: boolean;
}

/** How a process ended: its exit code, or the signal that killed it (then `code` is null). */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** "exited with code 1", "was killed by SIGKILL": how a process ended, in words. */
export function describeExit(exit: ProcessExit): string {
  if (exit.signal !== null) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code ?? 'unknown'}`;
}

/** A service that failed to start: names it and quotes its last output. */
export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError';
  constructor(
    readonly service: string,
    readonly reason: string,
    readonly output: string,
  ) {
    super(`${service} did not start: ${reason}${output ? `\n--- last output of ${service} ---\n${output}` : ''}`);
  }
}

/**
 * A running service process. It is considered started once it logs the JSON line with
 * `msg: "listening"` and its bound `address` (every quorumkv service logs one), with the URL of
 * its Prometheus endpoint as `metricsUrl`.
 */
export class ServiceProcess {
  private readonly exitPromise: Promise<ProcessExit>;

  private constructor(
    readonly spec: ServiceProcessSpec,
    readonly child: ChildProcess,
    readonly address: string,
    /** `http://HOST:PORT/metrics`, from the listening line; undefined if the service logged none. */
    readonly metricsUrl: string | undefined,
    exit: Promise<ProcessExit>,
    private readonly log: WriteStream | undefined,
  ) {
    this.exitPromise = exit;
  }

  /** Starts the process and resolves once it listens; rejects (and kills it) otherwise. */
  static async start(spec: ServiceProcessSpec): Promise<ServiceProcess> {
    let log: WriteStream | undefined;
    if (spec.logFile) {
      mkdirSync(dirname(spec.logFile), { recursive: true });
      log = createWriteStream(spec.logFile, { flags: 'a' });
    }
    const [file, ...prefixArgs] = spec.commandPrefix ?? [];
    const nodeCommand = [process.execPath, ...(spec.nodeArgs ?? []), spec.entry, ...spec.args];
    const argv = file === undefined ? nodeCommand.slice(1) : [...prefixArgs, ...nodeCommand];
    const child = spawn(file ?? process.execPath, argv, {
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: spec.detached ?? false,
    });
    const tail: string[] = [];
    const remember = (line: string): void => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      log?.write(line + '\n');
    };
    const exit = new Promise<ProcessExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    createInterface({ input: child.stderr }).on('line', remember);
    const listening = await new Promise<{ address: string; metricsUrl: string | undefined }>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new ServiceStartError(spec.name, `no "listening" line within ${spec.startTimeoutMs ?? 20_000} ms`, tail.join('\n')));
      }, spec.startTimeoutMs ?? 20_000);
      createInterface({ input: child.stdout }).on('line', (line) => {
        remember(line);
        if (!line.includes('"listening"')) return;
        try {
          const parsed = JSON.parse(line) as { msg?: string; address?: string; metricsUrl?: unknown };
          if (parsed.msg === 'listening' && typeof parsed.address === 'string') {
            clearTimeout(timer);
            resolve({ address: parsed.address, metricsUrl: typeof parsed.metricsUrl === 'string' ? parsed.metricsUrl : undefined });
          }
        } catch {
          // not JSON: an ordinary output line
        }
      });
      void exit.then((how) => {
        clearTimeout(timer);
        reject(new ServiceStartError(spec.name, `${describeExit(how)} before listening`, tail.join('\n')));
      });
    });
    return new ServiceProcess(spec, child, listening.address, listening.metricsUrl, exit, log);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True until the process exits. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the exit code; null when a signal killed the process (see {@link exit}). */
  async exited(): Promise<number | null> {
    return (await this.exitPromise).code;
  }

  /** Resolves once the process ended, with its exit code or the signal that killed it. */
  exit(): Promise<ProcessExit> {
    return this.exitPromise;
  }

  /** Sends a signal (SIGKILL for crash tests, SIGTERM for a clean stop). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
      await this.exitPromise;
      clearTimeout(timer);
    }
    this.log?.end();
  }
}
