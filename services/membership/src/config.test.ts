import { describe, expect, it } from 'vitest';
import { loadMembershipConfig, membershipHelp } from './config.js';

const load = (argv: string[]) => {
  const r = loadMembershipConfig({ argv, env: {} });
  if (r.help) throw new Error('help');
  return r.config;
};

describe('membership settings', () => {
  it("default to npm start's 127.0.0.1:7946, one replica, N=3 and 128 vnodes", () => {
    expect(load([])).toMatchObject({ id: 'membership-1', listen: '127.0.0.1:7946', peers: [], replicationFactor: 3, vnodes: 128 });
  });

  it('take one --peers list for every replica and skip this replica\'s own address in it', () => {
    const peers = 'm-0.membership:7946,m-1.membership:7946,m-2.membership:7946';
    expect(load(['--peers', peers, '--advertise', 'm-1.membership:7946']).peers).toEqual(['m-0.membership:7946', 'm-2.membership:7946']);
  });

  it('refuse a bad id or peer address naming the setting, and list every flag in --help', () => {
    expect(() => load(['--id', 'a b'])).toThrow(/--id/);
    expect(() => load(['--peers', 'nohost'])).toThrow(/--peers: expected HOST:PORT/);
    for (const flag of ['--id', '--listen', '--advertise', '--peers', '--data-dir', '--replication-factor', '--vnodes', '--zone']) expect(membershipHelp()).toContain(flag);
  });
});
