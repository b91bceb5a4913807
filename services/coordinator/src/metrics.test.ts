import { storage } from '@quorumkv/proto';
import { createLogger, metricNames } from '@quorumkv/service-kit';
import { mintVersion, versionToProto } from '@quorumkv/vclock';
import { describe, expect, it } from 'vitest';
import { ReplicaOpError, ReplicaUnavailableError } from './errors.js';
import { KvOperations } from './kv-handlers.js';
import { createCoordinatorMetrics } from './metrics.js';
import { ReadRepair } from './read-repair.js';
import type { ReplicaTransport } from './replica-pool.js';
import { testContexts } from './testing/context-keys.js';
import { TestRouting } from './testing/test-routing.js';
import { systemTimers } from './timers.js';

const NODES = ['node-1', 'node-2', 'node-3'];
const logger = createLogger({ service: 'test', level: 'silent' });

/** A coordinate answer whose key now holds `siblings` versions. */
function minted(siblings: number): storage.CoordinateResult {
  const { versions, minted: v } = mintVersion([], { context: [], actor: { node: 'node-1', epoch: 1n }, value: Buffer.from('v'), tombstone: false, nowMs: 1, maxClockEntries: 10 });
  return { version: versionToProto(v), siblingCount: siblings, versions: versions.map(versionToProto), versionsRecord: Buffer.alloc(0), deduplicated: false };
}

/** Replicas that answer every request the same way. */
function replicas(behaviour: 'ok' | 'down' | 'sibling-limit', siblings = 1): ReplicaTransport {
  const fail = (node: string): Promise<never> =>
    Promise.reject(
      behaviour === 'down'
        ? new ReplicaUnavailableError(node, 'connection refused')
        : new ReplicaOpError(node, storage.ReplicaError_Code.CODE_SIBLING_LIMIT, 'CODE_SIBLING_LIMIT', 'too many siblings'),
    );
  return {
    read: (node) => (behaviour === 'ok' ? Promise.resolve({ versions: [], applied: [] }) : fail(node)),
    coordinate: (node) => (behaviour === 'ok' ? Promise.resolve(minted(siblings)) : fail(node)),
    merge: (node) => (behaviour === 'ok' ? Promise.resolve() : fail(node)),
    isUp: () => behaviour !== 'down',
  };
}

function setup(transport: ReplicaTransport): { ops: KvOperations; scrape: () => Promise<string> } {
  const metrics = createCoordinatorMetrics();
  const ops = new KvOperations({
    transport,
    ring: new TestRouting(NODES),
    limits: { maxKeyBytes: 16, maxValueBytes: 16 },
    replicaTimeoutMs: 1000,
    ringWaitMs: 1000,
    timers: systemTimers,
    readRepair: new ReadRepair({ transport, logger, timeoutMs: 1000 }),
    metrics: metrics.kv,
    contexts: testContexts(),
  });
  return { ops, scrape: () => metrics.service.registry.metrics() };
}

/** The value of one series in Prometheus text, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const put = { key: Buffer.from('k'), value: Buffer.from('v'), context: Buffer.alloc(0), consistency: 0, w: 0, requestId: Buffer.alloc(0), pw: 0 };

describe('coordinator metrics', () => {
  it('counts a write that reached no quorum as a quorum failure of its operation, like KvOperations.counts', async () => {
    const { ops, scrape } = setup(replicas('down'));
    await expect(ops.put(put, Number.POSITIVE_INFINITY)).rejects.toThrow(/write not acknowledged/);
    await expect(ops.delete({ key: Buffer.from('k'), context: Buffer.alloc(0), consistency: 0, w: 0, requestId: Buffer.alloc(0), pw: 0 }, Number.POSITIVE_INFINITY)).rejects.toThrow();
    await expect(ops.get({ key: Buffer.from('k'), consistency: 0, r: 0, pr: 0 }, Number.POSITIVE_INFINITY)).rejects.toThrow();
    const text = await scrape();
    expect(sample(text, `${metricNames.quorumFailures}{op="put"}`)).toBe(ops.counts.quorumFailures.put);
    expect(sample(text, `${metricNames.quorumFailures}{op="put"}`)).toBe(1);
    expect(sample(text, `${metricNames.quorumFailures}{op="delete"}`)).toBe(1);
    expect(sample(text, `${metricNames.quorumFailures}{op="get"}`)).toBe(1);
  });

  it('counts writes that left siblings, and writes refused at the sibling limit', async () => {
    const sibling = setup(replicas('ok', 2));
    await sibling.ops.put(put, Number.POSITIVE_INFINITY);
    await sibling.ops.put(put, Number.POSITIVE_INFINITY);
    expect(sample(await sibling.scrape(), metricNames.siblingsCreated)).toBe(2);

    const single = setup(replicas('ok', 1));
    await single.ops.put(put, Number.POSITIVE_INFINITY);
    expect(sample(await single.scrape(), metricNames.siblingsCreated)).toBe(0);

    const refused = setup(replicas('sibling-limit'));
    await expect(refused.ops.put(put, Number.POSITIVE_INFINITY)).rejects.toThrow();
    const text = await refused.scrape();
    expect(sample(text, metricNames.siblingLimitRefusals)).toBe(1);
    expect(sample(text, `${metricNames.quorumFailures}{op="put"}`)).toBeUndefined();
  });
});
