/**
 * A service's settings as the service itself states them: run through the image's entrypoint
 * (deploy/docker/entrypoint.sh, pointed at this repository's built services) with `--help`, and
 * read from the table it prints. So a manifest is checked against the flags and variables the
 * code reads, not against a second list that could drift.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@quorumkv/local-cluster';

/** The image's entrypoint script. */
export const entrypointScript = join(repoRoot, 'deploy', 'docker', 'entrypoint.sh');

/** One setting: its flag, its environment variable, and its default (JSON-decoded when it can be). */
export interface Setting {
  readonly flag: string;
  readonly env: string;
  readonly default: unknown;
}

/** What the entrypoint printed and how it exited. */
export interface EntrypointRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the image's entrypoint with `args`, its app folder being this repository. */
export function runEntrypoint(args: readonly string[], env: NodeJS.ProcessEnv = {}): EntrypointRun {
  const run = spawnSync('sh', [entrypointScript, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...env, QKV_APP_DIR: repoRoot },
  });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const cache = new Map<string, readonly Setting[]>();

/**
 * The settings of `service` (a folder under services/), from `quorumkv SERVICE --help`.
 * @throws Error when the service does not print its settings table (not built, or unknown).
 */
export function serviceSettings(service: string): readonly Setting[] {
  const known = cache.get(service);
  if (known !== undefined) return known;
  const run = runEntrypoint([service, '--help']);
  if (run.status !== 0) throw new Error(`quorumkv ${service} --help exited ${run.status}: ${run.stderr.trim()} (run npm run build first)`);
  const settings: Setting[] = [];
  for (const line of run.stdout.split('\n')) {
    const m = /^ {2}(--[a-z0-9-]+)\s+([A-Z][A-Z0-9_]+)\s+default (.*)$/.exec(line);
    if (m === null) continue;
    const [, flag = '', env = '', def = ''] = m;
    let value: unknown = def;
    try {
      value = JSON.parse(def);
    } catch {
      // Not JSON: a description of the default such as "(required)".
    }
    settings.push({ flag, env, default: value });
  }
  if (settings.length === 0) throw new Error(`quorumkv ${service} --help printed no settings table`);
  cache.set(service, settings);
  return settings;
}

/** The setting of `service` with this flag. @throws Error when the service has none. */
export function settingByFlag(service: string, flag: string): Setting {
  const s = serviceSettings(service).find((x) => x.flag === flag);
  if (s === undefined) throw new Error(`quorumkv ${service} has no ${flag} setting`);
  return s;
}
