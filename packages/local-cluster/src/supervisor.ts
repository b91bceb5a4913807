import type { LocalCluster } from './cluster.js';
import { describeExit, ServiceStartError, type ProcessExit, type ServiceProcess } from './service-process.js';

/** When a crashed service is started again. */
export interface RestartPolicy {
  /** Restart crashed services by themselves; false leaves them down until asked. */
  readonly automatic: boolean;
  /** The wait before the first restart. */
  readonly initialDelayMs: number;
  /** The wait doubles on each crash in a row, up to this. */
  readonly maxDelayMs: number;
  /** A service that stayed up this long starts again from `initialDelayMs` when it next crashes. */
  readonly resetAfterMs: number;
}

/** 1 s, 2 s, 4 s… capped at 30 s; back to 1 s after a minute up (as systemd and Kubernetes do). */
export const DEFAULT_RESTART_POLICY: RestartPolicy = { automatic: true, initialDelayMs: 1_000, maxDelayMs: 30_000, resetAfterMs: 60_000 };

/**
 * The wait before restarting a service that crashed after running `upMs`, when the previous
 * wait (of this crash loop) was `previousMs` (undefined for the first crash).
 */
export function nextRestartDelay(policy: RestartPolicy, previousMs: number | undefined, upMs: number): number {
  if (previousMs === undefined || upMs >= policy.resetAfterMs) return policy.initialDelayMs;
  return Math.min(policy.maxDelayMs, previousMs * 2);
}

/** Whether an exit is a crash (restarted): killed by a signal or a non-zero code. */
export function isCrash(exit: ProcessExit): boolean {
  return exit.signal !== null || exit.code !== 0;
}

/** Clock and timers, injected so tests drive the back-off without waiting. */
export interface SupervisorTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemTimers: SupervisorTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** One service as the supervisor sees it. */
export interface ServiceState {
  readonly name: string;
  readonly state: 'up' | 'down' | 'restarting';
  readonly pid: number | undefined;
  readonly address: string;
  /** Restarts so far (automatic and asked for). */
  readonly restarts: number;
  /** When the next automatic restart is due (ms since the epoch), if one is. */
  readonly restartAt: number | undefined;
}

interface Watched {
  process: ServiceProcess;
  /** Stopped with {@link Supervisor.stop}: its exit is expected. */
  stoppedOnRequest: boolean;
  startedAt: number;
  restarts: number;
  lastDelayMs: number | undefined;
  timer: unknown;
  restartAt: number | undefined;
  pending: Promise<ServiceProcess> | undefined;
}

/**
 * Keeps a {@link LocalCluster}'s processes running: a service that crashes (killed by a signal,
 * or exits non-zero) is reported with how it ended and, with automatic restarts, started again
 * after a back-off; a service that exits 0 (someone stopped it with SIGTERM) is left down. Any
 * service can be restarted or stopped on request. Every process it starts belongs to the
 * cluster, so it stops with the cluster.
 */
export class Supervisor {
  private readonly watched = new Map<string, Watched>();
  private stopping = false;

  constructor(
    private readonly cluster: Pick<LocalCluster, 'services' | 'restart'>,
    private readonly policy: RestartPolicy,
    /** Writes one line for the person running the cluster. */
    private readonly report: (line: string) => void,
    private readonly timers: SupervisorTimers = systemTimers,
    /** Added to the restart command in messages (`--data-dir DIR` when not the default). */
    private readonly commandSuffix = '',
  ) {
    for (const s of cluster.services()) {
      const w: Watched = {
        process: s.process,
        stoppedOnRequest: false,
        startedAt: timers.now(),
        restarts: 0,
        lastDelayMs: undefined,
        timer: undefined,
        restartAt: undefined,
        pending: undefined,
      };
      this.watched.set(s.instance, w);
      this.watch(s.instance, w);
    }
  }

  /** Every service, in the cluster's order. */
  status(): ServiceState[] {
    return [...this.watched].map(([name, w]) => ({
      name,
      state: w.pending ? 'restarting' : w.process.running ? 'up' : 'down',
      pid: w.process.running ? w.process.pid : undefined,
      address: w.process.address,
      restarts: w.restarts,
      restartAt: w.restartAt,
    }));
  }

  /** Starts `name` again now (stopping it first if it runs), cancelling any restart due later. */
  restart(name: string): Promise<ServiceProcess> {
    const w = this.get(name);
    this.cancelTimer(w);
    return this.restartNow(name, w);
  }

  /** Stops `name` with SIGTERM; it stays down until {@link restart}. */
  async stop(name: string): Promise<void> {
    const w = this.get(name);
    this.cancelTimer(w);
    await w.pending?.catch(() => undefined);
    w.stoppedOnRequest = true;
    await w.process.stop();
  }

  /** No restart from now on; waits for restarts in progress, so the cluster can stop them too. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const w of this.watched.values()) this.cancelTimer(w);
    const pending = [...this.watched.values()].flatMap((w) => (w.pending ? [w.pending.catch(() => undefined)] : []));
    await Promise.all(pending);
  }

  private get(name: string): Watched {
    const w = this.watched.get(name);
    if (!w) throw new Error(`no service ${name} (there are ${[...this.watched.keys()].join(', ')})`);
    return w;
  }

  private cancelTimer(w: Watched): void {
    if (w.timer !== undefined) this.timers.clearTimeout(w.timer);
    w.timer = undefined;
    w.restartAt = undefined;
  }

  private watch(name: string, w: Watched): void {
    const p = w.process;
    void p.exit().then((exit) => {
      // A process replaced by a restart, or stopped with the cluster or on request, is not news.
      if (this.stopping || w.process !== p || w.pending) return;
      const restart = `npx quorumkv-local restart ${name}${this.commandSuffix}`;
      if (w.stoppedOnRequest) {
        this.report(`${name} stopped on request; it stays down until: ${restart}`);
        return;
      }
      const log = p.spec.logFile === undefined ? '' : ` (log: ${p.spec.logFile})`;
      const how = `${name} ${describeExit(exit)}${log}`;
      if (!isCrash(exit)) {
        this.report(`${how}; it stays down until: ${restart}`);
        return;
      }
      if (!this.policy.automatic) {
        this.report(`${how}; it stays down (--no-restart) until: ${restart}`);
        return;
      }
      this.schedule(name, w, `${how}`);
    });
  }

  private schedule(name: string, w: Watched, why: string): void {
    const delay = nextRestartDelay(this.policy, w.lastDelayMs, this.timers.now() - w.startedAt);
    w.lastDelayMs = delay;
    w.restartAt = this.timers.now() + delay;
    this.report(`${why}; restarting it in ${(delay / 1000).toFixed(1)} s`);
    w.timer = this.timers.setTimeout(() => {
      w.timer = undefined;
      w.restartAt = undefined;
      this.restartNow(name, w).catch(() => undefined);
    }, delay);
  }

  private restartNow(name: string, w: Watched): Promise<ServiceProcess> {
    if (this.stopping) return Promise.reject(new Error('the cluster is stopping'));
    if (w.pending) return w.pending;
    const attempt = this.cluster.restart(name).then(
      (fresh) => {
        w.pending = undefined;
        w.stoppedOnRequest = false;
        w.process = fresh;
        w.startedAt = this.timers.now();
        w.restarts++;
        this.report(`${name} is up again: ${fresh.address} (pid ${fresh.pid ?? '?'})`);
        this.watch(name, w);
        return fresh;
      },
      (err: unknown) => {
        w.pending = undefined;
        const reason = err instanceof ServiceStartError ? `${err.reason}${lastLine(err.output)}` : err instanceof Error ? err.message : String(err);
        if (!this.stopping && this.policy.automatic) this.schedule(name, w, `${name} could not start again: ${reason}`);
        else this.report(`${name} could not start again: ${reason}`);
        throw err;
      },
    );
    w.pending = attempt;
    return attempt;
  }
}

/** `: <the service's last output line>`, which says why it would not start. */
function lastLine(output: string): string {
  const line = output.trim().split('\n').at(-1)?.trim();
  return line ? `: ${line}` : '';
}
