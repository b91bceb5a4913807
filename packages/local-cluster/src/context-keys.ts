import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatContextKeys } from '@quorumkv/vclock';

/** The file name of a local cluster's context keys, inside its data folder. */
export const CONTEXT_KEYS_FILE = 'context-keys.json';

/**
 * The coordinators' context key file of a local cluster: `<dataDir>/context-keys.json`, created
 * with one random 32-byte key (mode 0600) the first time and reused afterwards.
 *
 * Why kept in the data folder rather than made up at each start: the contexts a client holds
 * must stay valid across a restart of `npm start` (the data survives it too), and every
 * coordinator of the cluster must sign with the same key.
 */
export function ensureContextKeys(dataDir: string, random: (n: number) => Uint8Array = randomBytes): string {
  const path = join(dataDir, CONTEXT_KEYS_FILE);
  if (existsSync(path)) return path;
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(path, formatContextKeys({ currentId: 'local-1', keys: [{ id: 'local-1', secret: random(32) }] }), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another launcher on the same folder created it first: use theirs.
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
  }
  return path;
}
