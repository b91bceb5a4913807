/**
 * What `npm run bench` measures: two floors (a trivial echo on grpc-js and on bare node:http2),
 * quorumkv as `npm start` ships it (3 storage nodes, N=3, the rate limiter with the default
 * rules asked before every call, the coordinator), the same cluster with `--sync` on the
 * storage nodes, and a 3-member etcd cluster when etcd is installed. Every target is started
 * once, up front, checked with one real call, and stopped at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { kv } from '@quorumkv/proto';
import { LocalCluster, ServiceProcess } from '@quorumkv/local-cluster';
import { echoPath } from './echo-server.js';
import { etcdInstalled, etcdPut, etcdPutPath, etcdRange, etcdRangePath, startEtcdCluster } from './etcd-cluster.js';
import { callOnce, PreflightError } from './grpc-once.js';
import { fixedRequest, keyedRequest, numberedKey, requestFor, type KeyedRequest } from './keyed-request.js';

export const ECHO = 'echo, grpc-js (floor)';
export const HTTP2_ECHO = 'echo, node:http2 (floor)';
export const QPUT = 'quorumkv put W=2';
export const QPUT_SYNC = 'quorumkv put W=2 --sync';
export const QPUT_TLS = 'quorumkv put W=2 --tls';
export const EPUT = 'etcd put';
export const QGET = 'quorumkv get R=2';
export const EGET = 'etcd get';

/** Every key starts with this; the digits after it number the key (see keyed-request.ts). */
export const KEY_PREFIX = 'bench-';
/** The key number the start-up checks write and read; runs use numbers from 10^10 up. */
const CHECK_KEY = 0;

/** One thing measured: where to call, the request, and which processes serve it. */
export interface KvTarget {
  readonly label: string;
  /** What the table says beside it: durability, consistency, what it is for. */
  readonly note: string;
  /** A floor answers a fixed request; a put writes fresh keys; a get reads a put's keys. */
  readonly kind: 'floor' | 'put' | 'get';
  readonly addresses: readonly string[];
  readonly path: string;
  readonly request: KeyedRequest;
  /** For a get: the put target whose keys of the same round it reads. */
  readonly readsKeysOf?: string;
  /** Server processes, for CPU per operation. */
  readonly pids: readonly number[];
  /** A target on mutual TLS: its client files (ca.pem, client.pem, client-key.pem). */
  readonly tlsDir?: string;
}

export interface KvTargets {
  readonly targets: readonly KvTarget[];
  /** Lines for the report's header: what was started, what was skipped and why. */
  readonly notes: readonly string[];
  stop(): Promise<void>;
}

export interface KvTargetOptions {
  readonly valueSize: number;
  readonly etcd: boolean;
  readonly sync: boolean;
  /** Also the same cluster on mutual TLS, as `npm start -- --tls` runs it. */
  readonly tls: boolean;
}

const pidsOf = (ps: readonly ServiceProcess[]): number[] => ps.flatMap((p) => (p.pid === undefined ? [] : [p.pid]));
const benchFile = (name: string): string => new URL(`./${name}`, import.meta.url).pathname;

/** Calls `t` once with key number {@link CHECK_KEY} and returns a problem with the answer, if any. */
async function check(t: KvTarget, problem: (response: Buffer) => string | undefined): Promise<void> {
  const address = t.addresses[0]!;
  const response = await callOnce(address, t.path, requestFor(t.request, CHECK_KEY), 5_000, t.tlsDir).catch((err: Error) => {
    throw new PreflightError(t.label, address, `the check call failed: ${err.message}`);
  });
  const why = problem(response);
  if (why !== undefined) throw new PreflightError(t.label, address, why);
}

/** etcd's RangeResponse count (field 4), read by hand like the requests are written. */
function etcdRangeCount(response: Buffer): number {
  const r = new BinaryReader(response);
  let count = 0;
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 4) count = Number(r.int64());
    else r.skip(wire);
  }
  return count;
}

/**
 * Starts every target and checks each with one call: an echo returns its bytes, a put is
 * accepted, a get finds the value the check put wrote. On failure everything started so far is
 * stopped before the error is rethrown.
 */
export async function startKvTargets(options: KvTargetOptions): Promise<KvTargets> {
  const value = Buffer.alloc(options.valueSize, 'v');
  const stops: (() => Promise<void>)[] = [];
  const dirs: string[] = [];
  const notes: string[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  const targets: KvTarget[] = [];
  try {
    const echoBody = Buffer.concat([numberedKey(KEY_PREFIX, CHECK_KEY), value]);
    for (const [label, file] of [[ECHO, 'echo-server.js'], [HTTP2_ECHO, 'http2-echo-server.js']] as const) {
      const p = await ServiceProcess.start({ name: file.replace('.js', ''), entry: benchFile(file), args: ['127.0.0.1:0'] });
      stops.push(() => p.stop());
      targets.push({ label, note: 'returns the request: the fastest a Node gRPC server answers here', kind: 'floor', addresses: [p.address], path: echoPath, request: fixedRequest(echoBody), pids: pidsOf([p]) });
    }

    // As `npm start` ships it (packages/local-cluster's launcher with no flags): 3 storage
    // nodes, N=3, the rate limiter with deploy/ratelimit's rules, this environment; only the
    // ports (free ones) and the data folder (a temp one) differ.
    const start = async (storageArgs: readonly string[], tls = false): Promise<LocalCluster> => {
      const dataDir = mkdtempSync(join(tmpdir(), 'qkv-bench-'));
      dirs.push(dataDir);
      const cluster = await LocalCluster.start({ nodes: 3, replicationFactor: 3, rateLimiterPort: 0, dataDir, env: process.env, storageArgs, tls });
      stops.push(() => cluster.stop());
      return cluster;
    };
    // A request id on every put, as the SDK sends one. Why one id for all of them: ids are
    // remembered per key and every put here writes a fresh key, so one id costs the servers the
    // same as distinct ones while the request stays a single splice of key digits.
    const requestId = randomBytes(16);
    const qput = keyedRequest(
      // Fresh keys only: repeated blind puts of one key would (correctly) pile up siblings.
      (k) =>
        Buffer.from(
          kv.PutRequest.encode({ key: k, value, context: Buffer.alloc(0), consistency: kv.ConsistencyLevel.CONSISTENCY_LEVEL_UNSPECIFIED, w: 2, requestId, pw: 0 }).finish(),
        ),
      KEY_PREFIX,
    );
    const qget = keyedRequest((k) => Buffer.from(kv.GetRequest.encode({ key: k, consistency: kv.ConsistencyLevel.CONSISTENCY_LEVEL_UNSPECIFIED, r: 2, pr: 0 }).finish()), KEY_PREFIX);
    const clusterPids = (c: LocalCluster): number[] => pidsOf(c.services().map((s) => s.process));
    const plain = await start([]);
    const qkv = { addresses: [plain.address], pids: clusterPids(plain) };
    const puts: KvTarget[] = [{ label: QPUT, note: 'as npm start ships it: no fsync, acknowledged from memory on 2 of 3 replicas', kind: 'put', ...qkv, path: '/quorumkv.kv.v1.KeyValueService/Put', request: qput }];
    const gets: KvTarget[] = [{ label: QGET, note: 'not linearizable: 2 of 3 replicas answer, no leader', kind: 'get', ...qkv, path: '/quorumkv.kv.v1.KeyValueService/Get', request: qget, readsKeysOf: QPUT }];
    if (options.sync) {
      const synced = await start(['--sync']);
      puts.push({ label: QPUT_SYNC, note: 'fsync before acknowledging on 2 of 3 replicas: the one to compare with etcd', kind: 'put', addresses: [synced.address], pids: clusterPids(synced), path: '/quorumkv.kv.v1.KeyValueService/Put', request: qput });
    } else notes.push('quorumkv with --sync: skipped (--no-sync)');
    if (options.tls) {
      // The same cluster with `npm start -- --tls`: every connection mutual TLS, the client API
      // included (the generator presents client.pem), internal streams too.
      const secured = await start([], true);
      puts.push({
        label: QPUT_TLS,
        note: 'as npm start -- --tls runs it: mutual TLS on every connection, clients and internal streams',
        kind: 'put',
        addresses: [secured.address],
        pids: clusterPids(secured),
        path: '/quorumkv.kv.v1.KeyValueService/Put',
        request: qput,
        tlsDir: secured.tls!.dir,
      });
    }

    if (options.etcd && etcdInstalled()) {
      const etcd = await startEtcdCluster(3);
      stops.push(() => etcd.stop());
      const e = { addresses: etcd.clientAddresses, pids: etcd.pids };
      puts.push({ label: EPUT, note: 'fsyncs its WAL, Raft commit on 2 of 3 members', kind: 'put', ...e, path: etcdPutPath, request: keyedRequest((k) => etcdPut(k, value), KEY_PREFIX) });
      gets.push({ label: EGET, note: 'linearizable (the default; ReadIndex through the leader)', kind: 'get', ...e, path: etcdRangePath, request: keyedRequest(etcdRange, KEY_PREFIX), readsKeysOf: EPUT });
    } else {
      notes.push(options.etcd ? 'etcd: not measured (install Debian etcd-server: bash scripts/install-deps.sh)' : 'etcd: skipped (--no-etcd)');
    }
    targets.push(...puts, ...gets);

    for (const t of targets) {
      if (t.kind === 'floor') await check(t, (res) => (res.equals(echoBody) ? undefined : `echoed ${res.length} bytes, not the ${echoBody.length} sent`));
      else if (t.kind === 'put') await check(t, () => undefined);
      else if (t.path === etcdRangePath) await check(t, (res) => (etcdRangeCount(res) === 1 ? undefined : `found ${etcdRangeCount(res)} keys, not the 1 the check put wrote`));
      else {
        await check(t, (res) => {
          const got = kv.GetResponse.decode(res);
          return got.found && got.siblings.length === 1 && got.siblings[0]!.value.equals(value) ? undefined : `did not read back the value the check put wrote (found=${got.found}, ${got.siblings.length} siblings)`;
        });
      }
    }
    return { targets, notes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
