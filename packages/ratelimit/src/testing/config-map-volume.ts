import { randomInt } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CONFIG_MAP_DATA_LINK } from '../rules/rule-sources.js';

/**
 * `..2026_01_02_15_04_05.1234567890`: a snapshot folder's name as the kubelet makes it (Go's
 * `os.MkdirTemp` with the layout `..2006_01_02_15_04_05.`, which appends a random number).
 */
function snapshotName(now: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}`;
  return `..${stamp}.${randomInt(2 ** 32)}`;
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes `files` (key → text; a key may hold `/`) into `dir` exactly as the kubelet projects a
 * ConfigMap volume, or, when `dir` already holds one, updates it the way the kubelet's
 * AtomicWriter does: write a new hidden timestamped folder, point `..data_tmp` at it, rename
 * `..data_tmp` over `..data` (the atomic step), create the visible symlinks of new keys
 * (`name -> ..data/name`), remove those of dropped keys, and delete the old folder.
 * Returns the new snapshot folder's name.
 */
export function writeConfigMapVolume(dir: string, files: Readonly<Record<string, string>>, now: Date = new Date()): string {
  mkdirSync(dir, { recursive: true });
  const dataLink = join(dir, CONFIG_MAP_DATA_LINK);
  const previous = exists(dataLink) ? readlinkSync(dataLink) : undefined;
  const snapshot = join(dir, snapshotName(now));
  mkdirSync(snapshot);
  for (const [key, text] of Object.entries(files)) {
    mkdirSync(dirname(join(snapshot, key)), { recursive: true });
    writeFileSync(join(snapshot, key), text);
  }
  const tmpLink = join(dir, `${CONFIG_MAP_DATA_LINK}_tmp`);
  symlinkSync(basename(snapshot), tmpLink);
  renameSync(tmpLink, dataLink);
  const visible = new Set(Object.keys(files).map((key) => key.split('/')[0] ?? key));
  for (const top of visible) {
    if (!exists(join(dir, top))) symlinkSync(join(CONFIG_MAP_DATA_LINK, top), join(dir, top));
  }
  for (const name of readdirSync(dir)) {
    if (!name.startsWith('..') && !visible.has(name)) unlinkSync(join(dir, name));
  }
  if (previous !== undefined) rmSync(join(dir, previous), { recursive: true, force: true });
  return basename(snapshot);
}
