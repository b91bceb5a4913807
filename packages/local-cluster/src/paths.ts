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

/** The default rules folder for the rate limiter started by `npm start`. */
export const defaultRulesDir: string = join(repoRoot, 'deploy', 'ratelimit');
