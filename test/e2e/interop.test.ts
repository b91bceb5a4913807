import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@quorumkv/local-cluster';
import { startTestCluster, type TestCluster } from '../support/test-cluster.js';

describe('an independent client in another language', () => {
  let t: TestCluster;
  beforeAll(async () => {
    t = await startTestCluster({ nodes: 3 });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('puts, sees siblings, resolves them and deletes from Python built only from proto/', async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        '/usr/bin/python3',
        [join(repoRoot, 'test/interop/kv_client.py'), t.cluster.address, join(repoRoot, 'proto')],
        { timeout: 30_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout)),
      ),
    );
    expect(out).toContain('python interop: all checks passed');
  });
});
