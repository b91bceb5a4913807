import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A range of ports, `low` included, `high` excluded. */
export interface PortRange {
  readonly low: number;
  readonly high: number;
}

/**
 * The kernel's ephemeral range (`net.ipv4.ip_local_port_range`, 32768–60999 on Linux by
 * default): the ports it hands out for `listen(0)` and for the local end of every outgoing
 * connection. A port picked in it can be taken by any connection on the machine at any moment.
 */
export function ephemeralPortRange(procFile = '/proc/sys/net/ipv4/ip_local_port_range'): PortRange {
  try {
    const [low, high] = readFileSync(procFile, 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high) && low <= high) return { low, high: high + 1 };
  } catch {
    // not Linux: assume Linux's default, which is below the BSD and Windows ranges
  }
  return { low: 32768, high: 61000 };
}

/**
 * Where reserved ports come from: 20000 up to the ephemeral range. The kernel never picks these
 * on its own, and `npm start`'s fixed ports (7070, 7101…, 8081, 9070, 9081, 9090, 9101…) are
 * below them.
 */
export function reservablePortRange(ephemeral: PortRange = ephemeralPortRange()): PortRange {
  if (ephemeral.low - 20_000 >= 1_000) return { low: 20_000, high: ephemeral.low };
  if (65_536 - ephemeral.high >= 1_000) return { low: ephemeral.high, high: 65_536 };
  throw new Error(`no room for test ports outside the ephemeral range ${ephemeral.low}-${ephemeral.high - 1}`);
}

/** Ports held for this process until {@link PortReservation.release}. */
export interface PortReservation {
  readonly ports: readonly number[];
  /** Gives the ports back (idempotent; also done when this process exits). */
  release(): void;
}

/** Options of {@link reservePorts}. */
export interface ReservePortsOptions {
  /** Where the ports will be bound; each is checked free there. @default '127.0.0.1' */
  readonly host?: string;
  /** Ports `p, p+1, …` in one block (for flags that take a first port). @default false */
  readonly consecutive?: boolean;
  /** Folder of the reservation files. @default `<tmpdir>/quorumkv-ports` */
  readonly dir?: string;
  readonly range?: PortRange;
  /** Uniform in [0, 1), for the first port tried. @default Math.random */
  readonly random?: () => number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `host:port` can be listened on right now (nothing else holds it). */
export function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Claims `port` for this process: writes `<dir>/<port>/<pid>`, then backs off if any other live
 * process holds a claim on it (two claiming at once both see each other and both move on, so
 * neither gets a port the other has). Claims of dead processes are removed on the way.
 */
function claim(dir: string, port: number): string | undefined {
  const folder = join(dir, String(port));
  mkdirSync(folder, { recursive: true });
  const mine = join(folder, String(process.pid));
  try {
    writeFileSync(mine, '', { flag: 'wx' });
  } catch {
    return undefined; // already ours
  }
  for (const name of readdirSync(folder)) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    if (Number.isInteger(pid) && alive(pid)) {
      unlinkSync(mine);
      return undefined;
    }
    try {
      unlinkSync(join(folder, name));
    } catch {
      // another process removed the stale claim first
    }
  }
  return mine;
}

function unclaim(files: readonly string[]): void {
  for (const f of files) {
    try {
      unlinkSync(f);
    } catch {
      // already gone
    }
  }
}

/**
 * Reserves `count` loopback ports that no other test can be given and the kernel never hands
 * out: they come from below the ephemeral range ({@link reservablePortRange}), each is claimed
 * by a file naming this process (so parallel test workers, and other checkouts' tests on the
 * same machine, skip it until it is released or this process dies), and each was free when
 * reserved. For processes that must know a port before they start (replicas listing each other,
 * Prometheus) or must get the same port back (a node restarted after a crash). A port that a
 * program unaware of reservations binds in between is the one collision left: start with
 * {@link withReservedPorts}, which tries other ports then.
 */
export async function reservePorts(count: number, options: ReservePortsOptions = {}): Promise<PortReservation> {
  const host = options.host ?? '127.0.0.1';
  const dir = options.dir ?? join(tmpdir(), 'quorumkv-ports');
  const range = options.range ?? reservablePortRange();
  const size = range.high - range.low;
  const random = options.random ?? Math.random;
  const held: string[] = [];
  const ports: number[] = [];
  let next = range.low + Math.floor(random() * size);
  for (let tried = 0; ports.length < count; tried++) {
    if (tried >= size) {
      unclaim(held);
      throw new Error(`cannot reserve ${count} ports in ${range.low}-${range.high - 1}: all taken`);
    }
    const port = range.low + ((next - range.low) % size);
    next = port + 1;
    const expected = ports.length > 0 && options.consecutive ? (ports[ports.length - 1] ?? 0) + 1 : port;
    if (port !== expected) {
      // A block must not wrap around or skip: start it again here.
      unclaim(held.splice(0));
      ports.splice(0);
    }
    const file = claim(dir, port);
    if (file !== undefined && (await canListen(host, port))) {
      held.push(file);
      ports.push(port);
    } else {
      if (file !== undefined) unclaim([file]);
      if (options.consecutive) {
        unclaim(held.splice(0));
        ports.splice(0);
      }
    }
  }
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off('exit', release);
    unclaim(held);
  };
  process.on('exit', release);
  return { ports, release };
}

/**
 * Runs `start` with freshly reserved ports. When it fails and one of its ports is held by
 * something else now (a program that ignores reservations took it first), it runs again with
 * other ports, up to `attempts` times; any other failure is thrown at once. The reservation is
 * returned with the result: release it once the processes using the ports are gone.
 */
export async function withReservedPorts<T>(
  count: number,
  start: (ports: readonly number[]) => Promise<T>,
  options: ReservePortsOptions & { readonly attempts?: number } = {},
): Promise<{ value: T; reservation: PortReservation }> {
  const host = options.host ?? '127.0.0.1';
  for (let attempt = 1; ; attempt++) {
    const reservation = await reservePorts(count, options);
    try {
      return { value: await start(reservation.ports), reservation };
    } catch (err) {
      const free = await Promise.all(reservation.ports.map((p) => canListen(host, p)));
      reservation.release();
      if (free.every(Boolean) || attempt >= (options.attempts ?? 3)) throw err;
    }
  }
}
