import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** A quorumkv service (its folder under `services/`). */
export type ServiceName = 'membership' | 'storage-node' | 'coordinator' | 'rate-limiter' | 'anti-entropy';

/** The repository root (this file is packages/local-cluster/{src,dist}/paths.*). */
export const repoRoot: string = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The compiled entry point of a service. The launcher starts services as separate processes by
 * path; it never imports them (libraries do not depend on services).
 */
export function serviceEntry(service: ServiceName): string {
  return join(repoRoot, 'services', service, 'dist', 'main.js');
}

/** The committed launcher of a service, `services/<name>/bin/quorumkv-<name>.js` (the container's entrypoint runs it). */
export function serviceBin(service: ServiceName): string {
  return join(repoRoot, 'services', service, 'bin', `quorumkv-${service}.js`);
}

/**
 * The Node/V8 flags a service is started with, read from its bin's shebang
 * (`#!/usr/bin/env -S node --no-memory-reducer`): one source for the bin, the container image
 * (whose entrypoint runs the bin) and every launcher that starts `dist/main.js` with `node`. The
 * shebang's comment says why a flag is there.
 * @throws Error when the first line is not `#!/usr/bin/env [-S] node [flags…]`.
 */
export function serviceNodeArgs(service: ServiceName): readonly string[] {
  const bin = serviceBin(service);
  const firstLine = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env (?:-S )?node((?: +-[^\s]+)*) *$/.exec(firstLine);
  if (!m) throw new Error(`${bin}: expected a first line "#!/usr/bin/env [-S] node [flags…]", got "${firstLine}"`);
  return (m[1] ?? '').split(' ').filter((f) => f.length > 0);
}

/** The default rules folder for the rate limiter started by `npm start`. */
export const defaultRulesDir: string = join(repoRoot, 'deploy', 'ratelimit');
