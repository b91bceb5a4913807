import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ServiceStartError, type ProcessExit, type ServiceProcess } from './service-process.js';
import { DEFAULT_RESTART_POLICY, nextRestartDelay, Supervisor, type RestartPolicy } from './supervisor.js';

/** A stand-in for a service process: the test ends it with any exit. */
class FakeProcess {
  running = true;
  private end!: (exit: ProcessExit) => void;
  private readonly ended = new Promise<ProcessExit>((resolve) => (this.end = resolve));
  get spec() {
    return { name: this.name, entry: '', args: [], logFile: `/data/logs/${this.name}.log` };
  }
  constructor(
    readonly name: string,
    readonly pid: number,
    readonly address = '127.0.0.1:7102',
  ) {}
  exit(): Promise<ProcessExit> {
    return this.ended;
  }
  die(exit: ProcessExit): void {
    this.running = false;
    this.end(exit);
  }
  stop(): Promise<void> {
    if (this.running) this.die({ code: 0, signal: null });
    return Promise.resolve();
  }
}

/** A cluster of one service whose restarts the test scripts. */
class FakeCluster {
  current = new FakeProcess('node-2', 100);
  restarts = 0;
  failNext: Error | undefined;
  services() {
    return [{ job: 'storage-node' as const, instance: 'node-2', process: this.current as unknown as ServiceProcess }];
  }
  restart(): Promise<ServiceProcess> {
    this.restarts++;
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      return Promise.reject(err);
    }
    this.current = new FakeProcess('node-2', 100 + this.restarts);
    return Promise.resolve(this.current as unknown as ServiceProcess);
  }
}

const timers = { now: () => Date.now(), setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) };

function supervise(policy: Partial<RestartPolicy> = {}): { cluster: FakeCluster; lines: string[]; supervisor: Supervisor } {
  const cluster = new FakeCluster();
  const lines: string[] = [];
  const supervisor = new Supervisor(cluster, { ...DEFAULT_RESTART_POLICY, ...policy }, (l) => lines.push(l), timers);
  return { cluster, lines, supervisor };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('nextRestartDelay', () => {
  it('starts at the initial delay, doubles while the service keeps crashing, is capped, and resets after a long run', () => {
    const p = DEFAULT_RESTART_POLICY;
    const waits: number[] = [];
    let last: number | undefined;
    for (let i = 0; i < 7; i++) waits.push((last = nextRestartDelay(p, last, 500)));
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(nextRestartDelay(p, 30_000, 60_000)).toBe(1_000);
  });
});

describe('Supervisor', () => {
  it('names the signal that killed a service and starts it again after the back-off', async () => {
    const { cluster, lines, supervisor } = supervise();
    cluster.current.die({ code: null, signal: 'SIGKILL' });
    await vi.advanceTimersByTimeAsync(0);
    expect(lines).toEqual(['node-2 was killed by SIGKILL (log: /data/logs/node-2.log); restarting it in 1.0 s']);
    expect(supervisor.status()[0]).toMatchObject({ state: 'down', restartAt: Date.now() + 1_000 });
    await vi.advanceTimersByTimeAsync(999);
    expect(cluster.restarts).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(cluster.restarts).toBe(1);
    expect(lines.at(-1)).toBe('node-2 is up again: 127.0.0.1:7102 (pid 101)');
    expect(supervisor.status()[0]).toMatchObject({ state: 'up', pid: 101, restarts: 1 });
  });

  it('waits longer after each crash in a row, and starts from 1 s again after a minute up', async () => {
    const { cluster, lines } = supervise();
    for (const wait of [1_000, 2_000, 4_000]) {
      cluster.current.die({ code: 1, signal: null });
      await vi.advanceTimersByTimeAsync(wait);
    }
    expect(lines.filter((l) => l.includes('restarting')).map((l) => l.replace(/.*in /, ''))).toEqual(['1.0 s', '2.0 s', '4.0 s']);
    expect(lines[0]).toMatch(/^node-2 exited with code 1 /);
    await vi.advanceTimersByTimeAsync(60_000);
    cluster.current.die({ code: 1, signal: null });
    await vi.advanceTimersByTimeAsync(0);
    expect(lines.at(-1)).toMatch(/restarting it in 1\.0 s$/);
  });

  it('leaves down a service that exited 0 (stopped with SIGTERM), and one that crashed with --no-restart', async () => {
    const clean = supervise();
    clean.cluster.current.die({ code: 0, signal: null });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(clean.cluster.restarts).toBe(0);
    expect(clean.lines).toEqual(['node-2 exited with code 0 (log: /data/logs/node-2.log); it stays down until: npx quorumkv-local restart node-2']);

    const manual = supervise({ automatic: false });
    manual.cluster.current.die({ code: null, signal: 'SIGKILL' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(manual.cluster.restarts).toBe(0);
    expect(manual.lines.at(-1)).toMatch(/was killed by SIGKILL .*stays down \(--no-restart\) until: npx quorumkv-local restart node-2$/);
    await manual.supervisor.restart('node-2');
    expect(manual.supervisor.status()[0]).toMatchObject({ state: 'up', pid: 101 });
  });

  it('restarts at once on request, cancelling the restart that was due', async () => {
    const { cluster, supervisor } = supervise();
    cluster.current.die({ code: null, signal: 'SIGSEGV' });
    await vi.advanceTimersByTimeAsync(0);
    await supervisor.restart('node-2');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(cluster.restarts).toBe(1);
  });

  it('tries again later, saying why, when a restart fails (a node started outside the launcher holds the port)', async () => {
    const { cluster, lines } = supervise();
    cluster.failNext = new ServiceStartError('node-2', 'exited with code 1 before listening', 'quorumkv-storage-node: failed to start: cannot listen on 127.0.0.1:7102 for gRPC: the address is already in use');
    cluster.current.die({ code: null, signal: 'SIGKILL' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(lines.at(-1)).toBe(
      'node-2 could not start again: exited with code 1 before listening: quorumkv-storage-node: failed to start: cannot listen on 127.0.0.1:7102 for gRPC: the address is already in use; restarting it in 2.0 s',
    );
    await vi.advanceTimersByTimeAsync(2_000);
    expect(cluster.restarts).toBe(2);
    expect(lines.at(-1)).toMatch(/is up again/);
  });

  it('restarts nothing once shut down, and says nothing about the exits the shutdown causes', async () => {
    const { cluster, lines, supervisor } = supervise();
    cluster.current.die({ code: null, signal: 'SIGKILL' });
    await vi.advanceTimersByTimeAsync(0);
    await supervisor.shutdown();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(cluster.restarts).toBe(0);
    expect(lines).toHaveLength(1);
  });

  it('refuses a name it does not supervise, listing the ones it does', () => {
    const { supervisor } = supervise();
    expect(() => supervisor.restart('node-9')).toThrow('no service node-9 (there are node-2)');
  });
});
