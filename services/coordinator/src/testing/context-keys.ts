/**
 * Context keys for tests: a fixed key set (never for production: its secret is in the source)
 * and a way to write it as the `--context-keys-file` of a coordinator process.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContextCodec, formatContextKeys, type ContextKeySet } from '@quorumkv/vclock';

/** The key set every test coordinator uses. */
export const TEST_CONTEXT_KEYS: ContextKeySet = { currentId: 'test', keys: [{ id: 'test', secret: Buffer.alloc(32, 0x5a) }] };

/** A codec over {@link TEST_CONTEXT_KEYS}: signs contexts the test coordinators accept. */
export function testContexts(): ContextCodec {
  return new ContextCodec(TEST_CONTEXT_KEYS);
}

/** Writes {@link TEST_CONTEXT_KEYS} to `<dir>/context-keys.json` and returns the path. */
export function writeTestContextKeys(dir: string): string {
  const path = join(dir, 'context-keys.json');
  writeFileSync(path, formatContextKeys(TEST_CONTEXT_KEYS), { mode: 0o600 });
  return path;
}
