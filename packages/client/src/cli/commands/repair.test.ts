import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { antiEntropy } from '@quorumkv/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { progressBar } from '../progress-bar.js';
import { runCli } from '../run-cli.js';
import { parseRange, repairCommand } from './repair.js';

/** A stand-in anti-entropy worker on a real port: the pass it starts finishes after two status reads. */
async function fakeWorker(): Promise<{ address: string; requests: antiEntropy.RepairRequest[]; close(): Promise<void> }> {
  const requests: antiEntropy.RepairRequest[] = [];
  let reads = 0;
  const pass = (done: number, finished: boolean): antiEntropy.PassProgress => ({
    id: 7n,
    trigger: 'manual',
    nodeId: 'node-2',
    startedAtMs: 1_000n,
    exchangesTotal: 10,
    exchangesDone: done,
    exchangesFailed: 0,
    keysRepaired: BigInt(done * 3),
    bytesExchanged: 4_096n,
    finishedAtMs: finished ? 2_000n : 0n,
  });
  const unary =
    <Req, Res>(fn: (req: Req) => Res) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      try {
        callback(null, fn(call.request));
      } catch (err) {
        callback(err as { code: number; details: string }, null);
      }
    };
  const impl: UntypedServiceImplementation = {
    repair: unary((req: antiEntropy.RepairRequest) => {
      if (req.nodeId === 'nope') throw Object.assign(new Error('unknown node'), { code: status.INVALID_ARGUMENT, details: 'node_id: "nope" is not a storage node of the ring' });
      requests.push(req);
      return { passId: 7n, exchanges: 10, message: 'pass 7 started: 10 range exchanges (node-2)' };
    }),
    status: unary(() => {
      reads += 1;
      const finished = reads >= 3;
      return antiEntropy.StatusResponse.fromPartial({
        ringEpoch: 3n,
        rangesTotal: 384,
        rangesInSync: 380,
        rangesOutOfSync: 4,
        keysRepaired: 30n,
        bytesExchanged: 123_456n,
        lastFullPassMs: 1_700_000_000_000n,
        periodMs: 3_600_000n,
        ...(finished ? { last: pass(10, true) } : { current: pass(reads * 4, false), running: [pass(reads * 4, false)] }),
      });
    }),
    flagKeys: unary(() => ({ accepted: 0, pending: 0 })),
    flagRanges: unary(() => ({ accepted: 0 })),
    setThrottle: unary(() => ({})),
  };
  const server = new Server();
  server.addService(antiEntropy.AntiEntropyServiceService, impl);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { address: `127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

async function qkv(argv: string[], tty = false): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    commands: [repairCommand],
    env: {},
    stdout: (t) => (out += typeof t === 'string' ? t : Buffer.from(t).toString()),
    stderr: (t) => (err += t),
    interactive: tty,
  });
  return { code, out, err };
}

describe('qkv repair', () => {
  let worker: Awaited<ReturnType<typeof fakeWorker>> | undefined;
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
  });

  it('starts a pass for a node and a range, and prints what the worker started', async () => {
    worker = await fakeWorker();
    const r = await qkv(['repair', '--node', 'node-2', '--range', '10:4000000000', '--anti-entropy', worker.address]);
    expect(r).toEqual({ code: 0, out: 'pass 7 started: 10 range exchanges (node-2)\n', err: '' });
    expect(worker.requests[0]).toMatchObject({ nodeId: 'node-2', range: { start: 10, end: 4_000_000_000 } });
  });

  it('--wait follows the pass to its end, redrawing a progress bar on a terminal', async () => {
    worker = await fakeWorker();
    const r = await qkv(['repair', '--node', 'node-2', '--wait', '--anti-entropy', worker.address], true);
    expect(r.code).toBe(0);
    expect(r.out).toContain('\rpass 7 (manual, node-2)  [############------------------]  40%  4/10');
    expect(r.out.trimEnd().split('\n').pop()).toBe('pass 7 (manual, node-2)  10/10 exchanges  30 keys repaired, 0 failed, finished');
  });

  it('status --json carries ranges in and out of sync, keys repaired, bytes exchanged, the last full pass and the progress', async () => {
    worker = await fakeWorker();
    const r = await qkv(['repair', 'status', '--json', '--anti-entropy', worker.address]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      rangesInSync: 380,
      rangesOutOfSync: 4,
      keysRepaired: 30,
      bytesExchanged: 123_456,
      lastFullPass: '2023-11-14T22:13:20.000Z',
      progress: { id: 7, exchangesDone: 4, exchangesTotal: 10, ratio: 0.4 },
    });
  });

  it('says what is wrong: an unknown node, a malformed range, a worker that is not there', async () => {
    worker = await fakeWorker();
    const unknown = await qkv(['repair', '--node', 'nope', '--anti-entropy', worker.address]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('INVALID_ARGUMENT: node_id: "nope"');
    const bad = await qkv(['repair', '--range', '5-6', '--anti-entropy', worker.address]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--range must be START:END');
    await worker.close();
    const gone = await qkv(['repair', 'status', '--anti-entropy', worker.address]);
    worker = undefined;
    expect(gone.code).toBe(1);
    expect(gone.err).toContain('cannot reach the anti-entropy worker at');
  });

  it('parses ranges and draws bars exactly', () => {
    expect(parseRange('0:4294967295')).toEqual({ start: 0, end: 4_294_967_295 });
    expect(() => parseRange('0:4294967296')).toThrow(/START:END/);
    expect(progressBar(1, 4, 8)).toBe('[##------]  25%  1/4');
    expect(progressBar(0, 0, 4)).toBe('[####] 100%  0/0');
  });
});
