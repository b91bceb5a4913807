import { describe, expect, it } from 'vitest';
import { ConfigError } from '@quorumkv/service-kit';
import { coordinatorHelp, loadCoordinatorConfig, parseNodeList } from './config.js';

const load = (argv: string[]) => loadCoordinatorConfig({ argv, env: {} });

describe('coordinator config', () => {
  it('reads the node list and applies the defaults', () => {
    const r = load(['--nodes', 'node-1=127.0.0.1:7101,node-2=127.0.0.1:7102,node-3=127.0.0.1:7103']);
    if (r.help) throw new Error('unexpected help');
    expect(r.config.nodes.map((n) => n.id)).toEqual(['node-1', 'node-2', 'node-3']);
    expect([r.config.replicationFactor, r.config.vnodes, r.config.replicaTimeoutMs, r.config.listen]).toEqual([3, 128, 1000, '127.0.0.1:7070']);
    expect([r.config.maxKeyBytes, r.config.maxValueBytes]).toEqual([1024, 10240]);
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

  it('prints every flag in --help', () => {
    expect(load(['--help']).help).toBe(true);
    for (const flag of ['--nodes', '--replication-factor', '--vnodes', '--replica-timeout-ms', '--listen']) expect(coordinatorHelp()).toContain(flag);
  });
});
