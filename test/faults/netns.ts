/**
 * The suite's private network: one network namespace per process, each with a veth pair to a
 * bridge that lives in a namespace of its own (the hub). Every link, address and rule lives
 * inside a namespace this module created, so nothing is added to the host's network, two runs
 * never see each other, and deleting the namespaces removes everything.
 *
 * Partitions are made with policy-routing rules, which need nothing beyond iproute2: in the
 * receiving namespace, `ip rule add from <peer> blackhole` drops every packet from the peer on
 * input, silently, as a cut cable does (a SYN goes unanswered, an open connection stalls and
 * retransmits). Output routes (`ip route add blackhole`) would fail new connections at once with
 * EINVAL instead, which no real partition does. The kernel here has no `netem` and no tc
 * actions, so delay and loss come from the TCP proxies in `link-proxy.ts`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Every namespace of the suite starts with this, then the supervisor's pid and a dash. */
export const NAMESPACE_PREFIX = 'qkvf';
/** The private subnet on the bridge (a /24, only ever inside the suite's namespaces). */
const SUBNET = '10.213.0';
/** Rule priority of the partition rules (below the local table, moved from 0 to 100). */
const PARTITION_PREF = '10';

/** One process's place in the network. */
export interface Member {
  /** `ctl` (the driver: clients and checkers), `coordinator`, `node-1`, `rl-1`… */
  readonly name: string;
  /** Its network namespace. */
  readonly ns: string;
  /** Its address on the bridge. */
  readonly ip: string;
}

/** The namespaces and addresses of one run, derived from its prefix and member names alone. */
export interface NetworkLayout {
  readonly prefix: string;
  /** The namespace holding the bridge. */
  readonly hub: string;
  readonly members: readonly Member[];
}

/** The layout for `prefix` (`qkvf<pid>-`): member i gets 10.213.0.(10 + i). */
export function networkLayout(prefix: string, names: readonly string[]): NetworkLayout {
  return {
    prefix,
    hub: `${prefix}hub`,
    members: names.map((name, i) => ({ name, ns: `${prefix}${name}`, ip: `${SUBNET}.${10 + i}` })),
  };
}

/** `ip …` as a promise; the error carries the command and what ip printed. */
export async function ip(args: readonly string[]): Promise<void> {
  try {
    await execFileAsync('ip', args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`ip ${args.join(' ')} failed: ${stderr.trim() || String(err)}`);
  }
}

/** Creates the hub, the bridge and every member's namespace, veth pair and address. */
export async function createNetwork(layout: NetworkLayout): Promise<void> {
  await ip(['netns', 'add', layout.hub]);
  await ip(['-n', layout.hub, 'link', 'add', 'br0', 'type', 'bridge']);
  await ip(['-n', layout.hub, 'link', 'set', 'br0', 'up']);
  await Promise.all(
    layout.members.map(async (m, i) => {
      await ip(['netns', 'add', m.ns]);
      await ip(['-n', layout.hub, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', m.ns]);
      await ip(['-n', layout.hub, 'link', 'set', `v${i}`, 'master', 'br0', 'up']);
      await ip(['-n', m.ns, 'addr', 'add', `${m.ip}/24`, 'dev', 'eth0']);
      await ip(['-n', m.ns, 'link', 'set', 'eth0', 'up']);
      await ip(['-n', m.ns, 'link', 'set', 'lo', 'up']);
      // Why move the local table: it is consulted at priority 0, before any rule we could add,
      // and it delivers every packet addressed to this namespace; a partition rule must come first.
      await ip(['-n', m.ns, 'rule', 'add', 'pref', '100', 'lookup', 'local']);
      await ip(['-n', m.ns, 'rule', 'del', 'pref', '0']);
    }),
  );
}

/**
 * Partitions of a running network: which members drop packets from which. Rules are kept
 * here so `heal` removes exactly what was added.
 */
export class Partitions {
  private readonly rules = new Set<string>();

  constructor(private readonly layout: NetworkLayout) {}

  /** Cuts every member of `a` off from every member of `b`, both ways. */
  async cut(a: readonly string[], b: readonly string[]): Promise<void> {
    const ops: Promise<void>[] = [];
    for (const x of a) {
      for (const y of b) {
        if (x === y) continue;
        ops.push(this.drop(x, y), this.drop(y, x));
      }
    }
    await Promise.all(ops);
  }

  /** Removes every partition rule. */
  async heal(): Promise<void> {
    const rules = [...this.rules];
    this.rules.clear();
    await Promise.all(
      rules.map((rule) => {
        const [ns, from] = rule.split('|') as [string, string];
        return ip(['-n', ns, 'rule', 'del', 'pref', PARTITION_PREF, 'from', from, 'blackhole']);
      }),
    );
  }

  /** Pairs `receiver|sender ip` currently cut. */
  get active(): number {
    return this.rules.size;
  }

  private async drop(receiver: string, sender: string): Promise<void> {
    const r = this.member(receiver);
    const s = this.member(sender);
    const rule = `${r.ns}|${s.ip}`;
    if (this.rules.has(rule)) return;
    this.rules.add(rule);
    await ip(['-n', r.ns, 'rule', 'add', 'pref', PARTITION_PREF, 'from', s.ip, 'blackhole']);
  }

  private member(name: string): Member {
    const m = this.layout.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name} in the fault network`);
    return m;
  }
}

/**
 * Removes namespaces, synchronously (so it also works from an exit handler): every process
 * still inside is killed first — a namespace outlives its name while a process holds it — then
 * the name is deleted, which destroys its veth end, its bridge and its rules with it.
 */
export function destroyNamespaces(names: readonly string[]): void {
  for (const ns of names) {
    for (const pid of namespacePids(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const ns of names) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

/** Every namespace of the suite on this machine (any run). */
export function suiteNamespaces(): string[] {
  let out: string;
  try {
    out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name.startsWith(NAMESPACE_PREFIX) && /^qkvf\d+-/.test(name));
}

/**
 * Deletes what earlier runs left behind (a supervisor killed with SIGKILL cannot clean up): the
 * namespaces whose supervisor pid no longer runs the suite. Returns the names removed.
 */
export function sweepStaleNamespaces(): string[] {
  const stale = suiteNamespaces().filter((ns) => !supervisorAlive(Number(/^qkvf(\d+)-/.exec(ns)?.[1])));
  destroyNamespaces(stale);
  return stale;
}

/** Whether the suite's supervisor with this pid still runs (a pid reused by another program does not count). */
export function supervisorAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('faults');
  } catch {
    return false;
  }
}

function namespacePids(ns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => Number.isInteger(n) && n > 0 && n !== process.pid);
  } catch {
    return [];
  }
}
