/**
 * CPU time of whole processes (every thread: V8's garbage-collector helpers and libuv's pool
 * count too), read from Linux `/proc/<pid>/stat`. Benchmarks divide it by the operations done, so
 * a figure says what one operation costs each process — steadier than throughput on a machine
 * whose other tenants come and go. Elsewhere than Linux it reads nothing and reports nothing.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** User + system CPU milliseconds of a process so far, or undefined when unreadable. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/** A named group of processes whose CPU is counted together (a cluster's members). */
export interface CpuGroup {
  readonly name: string;
  readonly pids: readonly number[];
}

/** CPU milliseconds each group used between `start()` and the returned function's call. */
export function startCpuMeter(groups: readonly CpuGroup[]): () => Map<string, number> {
  const read = (g: CpuGroup): number | undefined => {
    let sum = 0;
    for (const pid of g.pids) {
      const ms = processCpuMs(pid);
      if (ms === undefined) return undefined;
      sum += ms;
    }
    return sum;
  };
  const before = groups.map(read);
  return () => {
    const used = new Map<string, number>();
    groups.forEach((g, i) => {
      const a = before[i];
      const b = read(g);
      if (a !== undefined && b !== undefined) used.set(g.name, b - a);
    });
    return used;
  };
}
