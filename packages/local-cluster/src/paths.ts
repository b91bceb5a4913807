import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (this file is packages/local-cluster/{src,dist}/paths.*). */
export const repoRoot: string = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The compiled entry point of a service. The launcher starts services as separate processes by
 * path; it never imports them (libraries do not depend on services).
 */
export function serviceEntry(service: 'storage-node' | 'coordinator' | 'rate-limiter'): string {
  return join(repoRoot, 'services', service, 'dist', 'main.js');
}

/**
 * The Node/V8 flags a service is started with (also in its bin's shebang, and to be kept in any
 * container command). The rate limiter runs without V8's memory reducer: after an idle spell the
 * reducer shrinks the heap, and V8 then sizes the old generation so small that a full GC comes
 * every ~140 ms under load — measured with h2load at 64 in flight, p99 9 ms instead of 3.5 ms
 * until the heap grows back, which can take the whole of a busy spell. The cost is that memory
 * grown under load (~100 MB) is not handed back when idle.
 */
export function serviceNodeArgs(service: 'storage-node' | 'coordinator' | 'rate-limiter'): readonly string[] {
  return service === 'rate-limiter' ? ['--no-memory-reducer'] : [];
}

/** The default rules folder for the rate limiter started by `npm start`. */
export const defaultRulesDir: string = join(repoRoot, 'deploy', 'ratelimit');
