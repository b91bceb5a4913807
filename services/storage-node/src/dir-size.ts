import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Total size in bytes of the regular files in `dir` (not recursive: LevelDB keeps its log,
 * tables and manifest flat). Files that vanish while we look (compaction) count as zero.
 */
export async function directorySize(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true });
  const sizes = await Promise.all(
    entries
      .filter((e) => e.isFile())
      .map(async (e) => {
        try {
          return (await stat(join(dir, e.name))).size;
        } catch {
          return 0;
        }
      }),
  );
  return sizes.reduce((a, b) => a + b, 0);
}
