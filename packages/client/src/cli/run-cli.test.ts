import { status } from '@grpc/grpc-js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { reservePorts } from '@quorumkv/local-cluster';
import { type FakeCoordinator, FakeFailure, type FakeHandlers, startFakeCoordinator } from '../testing/fake-coordinator.js';
import type { Command } from './command.js';
import { delCommand } from './commands/del.js';
import { getCommand } from './commands/get.js';
import { putCommand } from './commands/put.js';
import { statusCommand } from './commands/status.js';
import { runCli } from './run-cli.js';

const commands: Command[] = [getCommand, putCommand, delCommand, statusCommand];

/** Runs qkv in-process with captured output; sleeps return at once so retries cost nothing. */
async function qkv(argv: string[], extra: Command[] = []): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    commands: [...commands, ...extra],
    env: {},
    stdout: (t) => (out += typeof t === 'string' ? t : `<bytes ${Buffer.from(t).toString('hex')}>`),
    stderr: (t) => (err += t),
    clientOptions: { sleep: () => Promise.resolve(), random: () => 0 },
  });
  return { code, out, err };
}

describe('qkv against a fake coordinator', () => {
  let fake: FakeCoordinator | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  async function start(handlers: FakeHandlers): Promise<string> {
    fake = await startFakeCoordinator(handlers);
    return fake.address;
  }

  it('put prints ok and the new context, and sends --context decoded from base64 with --w', async () => {
    const addr = await start({ put: () => Promise.resolve({ context: Buffer.from('new') }) });
    const r = await qkv(['put', 'user:1', 'alice', '--context', Buffer.from('old').toString('base64'), '--w', '2', '--addr', addr]);
    expect(r).toEqual({ code: 0, out: 'ok\ncontext: bmV3\n', err: '' });
    expect(fake?.calls[0]?.request).toMatchObject({ key: Buffer.from('user:1'), value: Buffer.from('alice'), context: Buffer.from('old'), w: 2 });
  });

  it('get prints every sibling and the context, and --json prints the same as one document', async () => {
    const addr = await start({
      get: () =>
        Promise.resolve({ found: true, siblings: [{ value: Buffer.from('a') }, { value: Buffer.from([0xff]) }], context: Buffer.from('c'), standIns: [] }),
    });
    const text = await qkv(['get', 'k', '--r', '3', '--consistency', 'ALL', '--addr', addr]);
    expect(text.out).toBe(
      '2 siblings (concurrent writes; put with this context to resolve them):\n  [1] a\n  [2] (base64) /w==\ncontext: Yw==\n',
    );
    expect(fake?.calls[0]?.request).toMatchObject({ r: 3, consistency: 3 });
    const json = await qkv(['--json', 'get', 'k', '--addr', addr]);
    expect(JSON.parse(json.out)).toEqual({
      found: true,
      siblings: [{ base64: 'YQ==', text: 'a' }, { base64: '/w==' }],
      context: 'Yw==',
    });
  });

  it('get --format raw writes the bytes of the one value and nothing else; base64 and json print every sibling', async () => {
    let siblings = [{ value: Buffer.from('line1\nline2') }];
    const addr = await start({ get: () => Promise.resolve({ found: siblings.length > 0, siblings, context: Buffer.from('c'), standIns: [] }) });
    expect(await qkv(['get', 'k', '--addr', addr])).toEqual({ code: 0, out: '"line1\\nline2"\ncontext: Yw==\n', err: '' });
    expect((await qkv(['get', 'k', '--format', 'raw', '--addr', addr])).out).toBe(`<bytes ${Buffer.from('line1\nline2').toString('hex')}>`);
    expect((await qkv(['get', 'k', '--format', 'base64', '--addr', addr])).out).toBe('bGluZTEKbGluZTI=\ncontext: Yw==\n');
    expect(JSON.parse((await qkv(['get', 'k', '--format', 'json', '--addr', addr])).out)).toMatchObject({ siblings: [{ text: 'line1\nline2' }] });
    siblings = [{ value: Buffer.from('a') }, { value: Buffer.from('b') }];
    expect(await qkv(['get', 'k', '--format', 'raw', '--addr', addr])).toEqual({
      code: 1,
      out: '',
      err: "qkv: get failed: 'k' has 2 siblings and --format raw prints one value: resolve them, or use --format json\n",
    });
    siblings = [];
    expect((await qkv(['get', 'k', '--format', 'raw', '--addr', addr])).err).toBe("qkv: get failed: 'k' not found\n");
    expect((await qkv(['get', 'k', '--format', 'yaml', '--addr', addr])).code).toBe(2);
  });

  it('del reads the key and deletes with the context of that read, so the value it showed is gone', async () => {
    const addr = await start({
      get: () => Promise.resolve({ found: true, siblings: [{ value: Buffer.from('red') }, { value: Buffer.from('blue') }], context: Buffer.from('seen'), standIns: [] }),
      delete: () => Promise.resolve({}),
    });
    expect(await qkv(['del', 'color', '--w', '3', '--addr', addr])).toEqual({ code: 0, out: 'ok: deleted 2 values (siblings)\n', err: '' });
    expect(fake?.calls.map((c) => c.method)).toEqual(['get', 'delete']);
    expect(fake?.calls[1]?.request).toMatchObject({ key: Buffer.from('color'), context: Buffer.from('seen'), w: 3 });
    expect(JSON.parse((await qkv(['del', 'color', '--json', '--addr', addr])).out)).toEqual({ ok: true, deleted: 2 });
  });

  it('del says there was nothing to delete, and sends no tombstone, when the key is not found', async () => {
    const addr = await start({ get: () => Promise.resolve({ found: false, siblings: [], context: Buffer.alloc(0), standIns: [] }) });
    expect(await qkv(['del', 'gone', '--addr', addr])).toEqual({ code: 0, out: 'ok: not found, nothing to delete\n', err: '' });
    expect(fake?.calls.map((c) => c.method)).toEqual(['get']);
  });

  it('del --context deletes what that context saw and del --blind sends none, both without reading', async () => {
    const addr = await start({ delete: () => Promise.resolve({}) });
    expect((await qkv(['del', 'k', '--context', Buffer.from('ctx').toString('base64'), '--addr', addr])).out).toBe('ok\n');
    expect((await qkv(['del', 'k', '--blind', '--addr', addr])).out).toBe('ok\n');
    expect(fake?.calls.map((c) => [c.method, (c.request as { context: Buffer }).context.toString()])).toEqual([
      ['delete', 'ctx'],
      ['delete', ''],
    ]);
    expect((await qkv(['del', 'k', '--blind', '--context', 'Yw==', '--addr', addr])).code).toBe(2);
  });

  it('status prints the node table', async () => {
    const addr = await start({
      status: () =>
        Promise.resolve({
          replicationFactor: 1,
          vnodesPerNode: 8,
          nodes: [{ id: 'n1', address: 'x:1', up: true, ringShare: 1, keyCount: 2n, approximateBytes: 0n }],
        }),
    });
    const st = await qkv(['status', '--addr', addr]);
    expect(st.out.split('\n')[1]).toBe('n1    x:1      up         100.0%     2');
    expect(JSON.parse((await qkv(['status', '--json', '--addr', addr])).out)).toMatchObject({ nodes: [{ id: 'n1', keyCount: 2 }] });
  });

  it('prints one line naming the command, status and server details, and exits 1, when the call fails', async () => {
    const addr = await start({ put: () => Promise.reject(new FakeFailure(status.UNAVAILABLE, 'quorum not reached: 1 of 2 acks')) });
    const r = await qkv(['put', 'k', 'v', '--addr', addr]);
    expect(r).toEqual({ code: 1, out: '', err: 'qkv: put failed: UNAVAILABLE: quorum not reached: 1 of 2 acks\n' });
    expect(fake?.calls).toHaveLength(4);
  });

  it('says the coordinator cannot be reached, and where, when nothing listens there', async () => {
    // A reserved port: nothing on this machine is given it, so nothing listens there.
    const closed = await reservePorts(1);
    try {
      const addr = `127.0.0.1:${closed.ports[0]}`;
      const r = await qkv(['get', 'k', '--addr', addr]);
      expect(r.code).toBe(1);
      expect(r.err).toBe(`qkv: get failed: cannot reach the coordinator at ${addr} (is \`npm start\` running?)\n`);
    } finally {
      closed.release();
    }
  });

  it('says an HTTP server answered where the coordinator was expected (a /metrics port)', async () => {
    const http = createServer((_req, res) => res.writeHead(404).end('not found; metrics are at /metrics\n'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const addr = `127.0.0.1:${(http.address() as AddressInfo).port}`;
      const r = await qkv(['status', '--addr', addr]);
      expect(r.code).toBe(1);
      expect(r.err).toBe(
        `qkv: status failed: an HTTP/1 server answered at ${addr}, not a gRPC server: --addr must be the coordinator's gRPC address (npm start's is 127.0.0.1:7070; its /metrics ports answer HTTP)\n`,
      );
    } finally {
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it('says what is wrong with an address that has no port, a bad port or no host, without dialing', async () => {
    expect(await qkv(['status', '--addr', 'garbage'])).toEqual({
      code: 2,
      out: '',
      err: "qkv: --addr 'garbage' has no port: use HOST:PORT, e.g. 127.0.0.1:7070 (see 'qkv --help')\n",
    });
    expect((await qkv(['status', '--addr', 'h:99999'])).err).toMatch(/--addr 'h:99999' has a bad port '99999' \(1-65535\)/);
    expect((await qkv(['status', '--addr', ':7070'])).err).toMatch(/--addr ':7070' has no host/);
    expect((await qkv(['status', '--addr', '::1'])).err).toMatch(/an IPv6 address goes in brackets: \[::1\]:7070/);
  });

  it('exits 2 with a hint on a usage error, without dialing the coordinator', async () => {
    expect(await qkv(['put', 'k', 'v', '--w', 'two'])).toEqual({
      code: 2,
      out: '',
      err: "qkv: put: --w must be a positive integer, got 'two' (see 'qkv put --help')\n",
    });
    expect(await qkv(['nope'])).toMatchObject({ code: 2, err: "qkv: unknown command 'nope' (see 'qkv --help')\n" });
  });

  it('prints requested help to stdout with exit 0, and bare `qkv` help to stderr with exit 2', async () => {
    const help = await qkv(['put', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: qkv put KEY VALUE \[options\]/);
    const bare = await qkv([]);
    expect(bare.code).toBe(2);
    expect(bare.err).toMatch(/^Usage: qkv /);
  });

  it('runs a command added to the registry, one that never dials the coordinator', async () => {
    const rules: Command = {
      name: 'rules',
      summary: 'check rule files',
      args: ['SUBCOMMAND', 'PATH...'],
      options: {},
      description: 'Checks rate-limit rule files.',
      run: (input, ctx) => {
        ctx.print(`checked ${input.positionals.slice(1).join(', ')}`);
        return Promise.resolve();
      },
    };
    expect(await qkv(['rules', 'check', 'a.yaml', 'b.yaml'], [rules])).toEqual({ code: 0, out: 'checked a.yaml, b.yaml\n', err: '' });
    expect((await qkv(['--help'], [rules])).out).toMatch(/ {2}rules {3}check rule files/);
  });
});
