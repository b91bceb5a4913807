import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@quorumkv/service-kit';
import { coordinatorHelp, loadCoordinatorConfig, parseNodeList } from './config.js';
import { TEST_CONTEXT_KEYS, writeTestContextKeys } from './testing/context-keys.js';

const dir = mkdtempSync(join(tmpdir(), 'qkv-coord-config-'));
const keysFile = writeTestContextKeys(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Reads the config with the test key file given through the environment, as a Secret mount would. */
const load = (argv: string[], env: NodeJS.ProcessEnv = { QKV_COORDINATOR_CONTEXT_KEYS_FILE: keysFile }) => loadCoordinatorConfig({ argv, env });

describe('coordinator config', () => {
  it('reads the node list and applies the defaults', () => {
    const r = load(['--nodes', 'node-1=127.0.0.1:7101,node-2=127.0.0.1:7102,node-3=127.0.0.1:7103']);
    if (r.help) throw new Error('unexpected help');
    expect(r.config.nodes.map((n) => n.id)).toEqual(['node-1', 'node-2', 'node-3']);
    expect([r.config.replicationFactor, r.config.vnodes, r.config.replicaTimeoutMs, r.config.listen]).toEqual([3, 128, 1000, '127.0.0.1:7070']);
    expect([r.config.maxKeyBytes, r.config.maxValueBytes]).toEqual([1024, 10240]);
  });

  it('reads the context keys from --context-keys-file (or its variable)', () => {
    const r = load(['--nodes', 'a=h:1', '--replication-factor', '1', '--context-keys-file', keysFile], {});
    if (r.help) throw new Error('unexpected help');
    expect(r.config.contextKeys.currentId).toBe(TEST_CONTEXT_KEYS.currentId);
    expect(r.config.contextKeys.keys.map((k) => Buffer.from(k.secret).toString('hex'))).toEqual(TEST_CONTEXT_KEYS.keys.map((k) => Buffer.from(k.secret).toString('hex')));
  });

  it('refuses to start without a context key file, or with one it cannot use, naming --context-keys-file', () => {
    const base = ['--nodes', 'a=h:1', '--replication-factor', '1'];
    expect(() => load(base, {})).toThrow(/--context-keys-file: is required: a JSON file holding the secret keys/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"current":"k1","keys":{"k1":"c2hvcnQ="}}');
    expect(() => load([...base, '--context-keys-file', bad], {})).toThrow(/--context-keys-file: .*bad.json: key "k1" is 5 bytes/);
    expect(() => load([...base, '--context-keys-file', join(dir, 'absent.json')], {})).toThrow(/--context-keys-file: cannot read/);
  });

  it('refuses to start without --nodes', () => {
    expect(() => load([])).toThrow(ConfigError);
    expect(() => load([])).toThrow(/--nodes/);
  });

  it('refuses a replication factor above the number of nodes, naming the setting', () => {
    expect(() => load(['--nodes', 'a=h:1,b=h:2', '--replication-factor', '3'])).toThrow(/--replication-factor.*only 2 node/);
  });

  it('refuses duplicate node ids and bad addresses', () => {
    expect(() => parseNodeList('a=h:1,a=h:2')).toThrow(/twice/);
    expect(() => load(['--nodes', 'a=nohost'])).toThrow(/--nodes/);
  });

  it('defaults rate limiting to off, with a 20 ms timeout, domain quorumkv, caller key x-quorumkv-caller and failing open', () => {
    const r = load(['--nodes', 'a=h:1,b=h:2,c=h:3']);
    if (r.help) throw new Error('unexpected help');
    const { rateLimiter, rateLimitTimeoutMs, rateLimitDomain, callerMetadataKey, rateLimitFailureMode } = r.config;
    expect({ rateLimiter, rateLimitTimeoutMs, rateLimitDomain, callerMetadataKey, rateLimitFailureMode }).toEqual({
      rateLimiter: '',
      rateLimitTimeoutMs: 20,
      rateLimitDomain: 'quorumkv',
      callerMetadataKey: 'x-quorumkv-caller',
      rateLimitFailureMode: 'open',
    });
  });

  it('refuses a bad rate limiter address, failure mode, caller metadata key or empty domain, naming the setting', () => {
    expect(() => load(['--nodes', 'a=h:1,b=h:2,c=h:3', '--rate-limiter', 'nohost'])).toThrow(/--rate-limiter/);
    expect(() => load(['--nodes', 'a=h:1,b=h:2,c=h:3', '--rate-limit-failure-mode', 'maybe'])).toThrow(/--rate-limit-failure-mode/);
    expect(() => load(['--nodes', 'a=h:1,b=h:2,c=h:3', '--caller-metadata-key', 'X-Caller'])).toThrow(/--caller-metadata-key/);
    expect(() => load(['--nodes', 'a=h:1,b=h:2,c=h:3', '--caller-metadata-key', 'caller-bin'])).toThrow(/--caller-metadata-key/);
    expect(() => load(['--nodes', 'a=h:1,b=h:2,c=h:3', '--rate-limiter', 'h:1', '--rate-limit-domain', ''])).toThrow(/--rate-limit-domain/);
  });

  it('prints every flag in --help', () => {
    expect(load(['--help']).help).toBe(true);
    for (const flag of ['--nodes', '--context-keys-file', '--replication-factor', '--vnodes', '--replica-timeout-ms', '--listen', '--rate-limiter', '--rate-limit-timeout-ms', '--rate-limit-domain', '--caller-metadata-key', '--rate-limit-failure-mode']) {
      expect(coordinatorHelp()).toContain(flag);
    }
  });
});
