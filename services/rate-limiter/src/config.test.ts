import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '@quorumkv/service-kit';
import { checkConfig, parseReplicas, rateLimiterSettings, RateLimiterConfigError } from './config.js';

const read = (argv: string[]) => {
  const r = readConfig(rateLimiterSettings, { argv, env: {} });
  if (r.help) throw new Error('help');
  return r.config;
};

describe('rate limiter settings', () => {
  it('default to Envoy\'s usual port, fail-open and every header', () => {
    const c = checkConfig(read(['--rules', '/tmp/r']));
    expect(c).toMatchObject({ listen: '127.0.0.1:8081', failureMode: 'open', headers: 'all', replicas: [], seeds: [], id: 'rl-1' });
  });

  it('parse replicas as ID=HOST:PORT and refuse duplicates or bad addresses, naming the setting', () => {
    expect(parseReplicas('rl-1=127.0.0.1:8081, rl-2=10.0.0.2:8081')).toEqual([
      { id: 'rl-1', address: '127.0.0.1:8081' },
      { id: 'rl-2', address: '10.0.0.2:8081' },
    ]);
    expect(() => read(['--rules', 'x', '--replicas', 'rl-1=a:1,rl-1=b:2'])).toThrow(ConfigError);
    expect(() => read(['--rules', 'x', '--replicas', 'rl-1'])).toThrow(/--replicas/);
    expect(() => read(['--rules', 'x', '--failure-mode', 'maybe'])).toThrow(/--failure-mode/);
  });

  it('name the headers --headers adds in its help, and still read "notes", the first name of x-ratelimit', () => {
    expect(rateLimiterSettings.headers.description).toMatch(/x-ratelimit \(X-Ratelimit-Limit, X-Ratelimit-Remaining/);
    expect(rateLimiterSettings.headers.description).not.toMatch(/notes/);
    expect(read(['--rules', 'x', '--headers', 'x-ratelimit']).headers).toBe('x-ratelimit');
    expect(read(['--rules', 'x', '--headers', 'notes']).headers).toBe('x-ratelimit');
    expect(() => read(['--rules', 'x', '--headers', 'some'])).toThrow(/--headers: expected one of none, draft, x-ratelimit, all/);
  });

  it('take --seeds (membership from gossip) or --replicas (static), not both, and give each process its own id with --seeds', () => {
    const dynamic = checkConfig(read(['--rules', 'x', '--seeds', '127.0.0.1:7946']));
    expect(dynamic.seeds).toEqual(['127.0.0.1:7946']);
    expect(dynamic.id).toMatch(new RegExp(`-${process.pid}$`));
    expect(checkConfig(read(['--rules', 'x', '--seeds', '127.0.0.1:7946', '--id', 'rl-7'])).id).toBe('rl-7');
    expect(() => checkConfig(read(['--rules', 'x', '--seeds', '127.0.0.1:7946', '--replicas', 'rl-1=a:1']))).toThrow(/--replicas: cannot be combined with --seeds/);
  });

  it('require the rules folder and an --id that is among the replicas', () => {
    expect(() => checkConfig(read([]))).toThrow(RateLimiterConfigError);
    expect(() => checkConfig(read(['--rules', 'x', '--id', 'rl-9', '--replicas', 'rl-1=a:1']))).toThrow(/--id/);
  });
});
