import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@quorumkv/service-kit';
import { coordinatorHelp, loadCoordinatorConfig } from './config.js';
import { TEST_CONTEXT_KEYS, writeTestContextKeys } from './testing/context-keys.js';

const dir = mkdtempSync(join(tmpdir(), 'qkv-coord-config-'));
const keysFile = writeTestContextKeys(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Reads the config with the test key file given through the environment, as a Secret mount would. */
const load = (argv: string[], env: NodeJS.ProcessEnv = { QKV_COORDINATOR_CONTEXT_KEYS_FILE: keysFile }) => loadCoordinatorConfig({ argv, env });

describe('coordinator config', () => {
  it('reads the membership seeds and applies the defaults', () => {
    const r = load(['--seeds', '127.0.0.1:7946,10.0.0.2:7946,127.0.0.1:7946']);
    if (r.help) throw new Error('unexpected help');
    expect(r.config.seeds).toEqual(['127.0.0.1:7946', '10.0.0.2:7946']);
    expect([r.config.replicaTimeoutMs, r.config.ringWaitMs, r.config.listen, r.config.id]).toEqual([1000, 2000, '127.0.0.1:7070', '']);
    expect([r.config.maxKeyBytes, r.config.maxValueBytes]).toEqual([1024, 10240]);
  });

  it('reads the context keys from --context-keys-file (or its variable)', () => {
    const r = load(['--seeds', 'h:1', '--context-keys-file', keysFile], {});
    if (r.help) throw new Error('unexpected help');
    expect(r.config.contextKeys.currentId).toBe(TEST_CONTEXT_KEYS.currentId);
    expect(r.config.contextKeys.keys.map((k) => Buffer.from(k.secret).toString('hex'))).toEqual(TEST_CONTEXT_KEYS.keys.map((k) => Buffer.from(k.secret).toString('hex')));
  });

  it('refuses to start without a context key file, or with one it cannot use, naming --context-keys-file', () => {
    const base = ['--seeds', 'h:1'];
    expect(() => load(base, {})).toThrow(/--context-keys-file: is required: a JSON file holding the secret keys/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"current":"k1","keys":{"k1":"c2hvcnQ="}}');
    expect(() => load([...base, '--context-keys-file', bad], {})).toThrow(/--context-keys-file: .*bad.json: key "k1" is 5 bytes/);
    expect(() => load([...base, '--context-keys-file', join(dir, 'absent.json')], {})).toThrow(/--context-keys-file: cannot read/);
  });

  it('refuses to start without --seeds, saying where the membership service runs', () => {
    expect(() => load([])).toThrow(ConfigError);
    expect(() => load([])).toThrow(/--seeds: is required: give the membership service address.*127\.0\.0\.1:7946/);
    expect(() => load(['--seeds', 'nohost'])).toThrow(/--seeds: expected HOST:PORT/);
  });

  it('refuses the old static --nodes list (flag or variable) and says to use --seeds instead', () => {
    expect(() => load(['--nodes', 'a=h:1'])).toThrow(/--nodes: is gone: .*follows the ring the membership service commits.*--seeds/);
    expect(() => load(['--seeds', 'h:1'], { QKV_COORDINATOR_CONTEXT_KEYS_FILE: keysFile, QKV_COORDINATOR_NODES: 'a=h:1' })).toThrow(/QKV_COORDINATOR_NODES: is gone/);
  });

  it('defaults rate limiting to off, with a 20 ms timeout, domain quorumkv, caller key x-quorumkv-caller and failing open', () => {
    const r = load(['--seeds', 'h:1']);
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
    expect(() => load(['--seeds', 'h:1', '--rate-limiter', 'nohost'])).toThrow(/--rate-limiter/);
    expect(() => load(['--seeds', 'h:1', '--rate-limit-failure-mode', 'maybe'])).toThrow(/--rate-limit-failure-mode/);
    expect(() => load(['--seeds', 'h:1', '--caller-metadata-key', 'X-Caller'])).toThrow(/--caller-metadata-key/);
    expect(() => load(['--seeds', 'h:1', '--caller-metadata-key', 'caller-bin'])).toThrow(/--caller-metadata-key/);
    expect(() => load(['--seeds', 'h:1', '--rate-limiter', 'h:1', '--rate-limit-domain', ''])).toThrow(/--rate-limit-domain/);
  });

  it('prints every flag in --help', () => {
    expect(load(['--help']).help).toBe(true);
    for (const flag of ['--seeds', '--id', '--advertise', '--zone', '--ring-wait-ms', '--context-keys-file', '--replica-timeout-ms', '--listen', '--rate-limiter', '--rate-limit-timeout-ms', '--rate-limit-domain', '--caller-metadata-key', '--rate-limit-failure-mode']) {
      expect(coordinatorHelp()).toContain(flag);
    }
  });
});
