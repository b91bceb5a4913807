import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RingView, type MemberState, type RingMember } from '@quorumkv/ring';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageEngine } from './engine.js';
import { RangeCleanup, unheldParts } from './range-cleanup.js';
import { captureLogger } from './testing/log-capture.js';

let dir: string;
let engine: StorageEngine;
const KEYS = 2000;
const keyOf = (i: number): Buffer => Buffer.from(`key-${i}`);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qkv-cleanup-'));
  engine = await StorageEngine.open({ dataDir: dir, nodeId: 'node-3', logger: captureLogger().logger });
  for (let i = 0; i < KEYS; i++) await engine.coordinate(keyOf(i), { context: [], value: Buffer.from('v'), tombstone: false });
});
afterEach(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

function view(epoch: number, states: Record<string, MemberState>): RingView {
  const members: RingMember[] = Object.entries(states).map(([id, state]) => ({ id, address: `${id}:1`, state }));
  return new RingView({ epoch, replicationFactor: 2, vnodes: 16, members });
}

async function held(): Promise<Set<string>> {
  return new Set((await engine.scanRange(0, 0, { limit: 1_000_000, records: false })).map((e) => e.key.toString()));
}

describe('RangeCleanup', () => {
  it('drops nothing while a join is pending, and after the commit drops exactly the keys this node no longer replicates', async () => {
    const dropped: number[] = [];
    const cleanup = new RangeCleanup({ nodeId: 'node-3', engine, logger: captureLogger().logger, onDropped: (k) => dropped.push(k) });
    const before = { 'node-1': 'normal', 'node-2': 'normal', 'node-3': 'normal' } as const;
    await cleanup.onView(view(1, before));
    const pending = view(2, { ...before, 'node-4': 'joining' });
    await cleanup.onView(pending);
    expect((await held()).size).toBe(KEYS);
    const committed = view(3, { ...before, 'node-4': 'normal' });
    await cleanup.onView(committed);
    // The folder holds every key; only those node-3 replicated and no longer does are released.
    const kept = Array.from({ length: KEYS }, (_, i) => keyOf(i)).filter((k) => !pending.readReplicas(k).includes('node-3') || committed.readReplicas(k).includes('node-3'));
    expect([...(await held())].sort()).toEqual(kept.map(String).sort());
    expect(dropped).toEqual([KEYS - kept.length]);
    expect(KEYS - kept.length).toBeGreaterThan(0);
  });

  it('drops only once replica requests admitted under older epochs have finished', async () => {
    let release: () => void = () => undefined;
    const asked: number[] = [];
    let called: () => void = () => undefined;
    const waiting = new Promise<void>((r) => (called = r));
    const cleanup = new RangeCleanup({
      nodeId: 'node-3',
      engine,
      logger: captureLogger().logger,
      drainedBelow: (epoch) => {
        asked.push(epoch);
        called();
        return new Promise<void>((r) => (release = r));
      },
    });
    const base = { 'node-1': 'normal', 'node-2': 'normal', 'node-3': 'normal' } as const;
    await cleanup.onView(view(2, { ...base, 'node-4': 'joining' }));
    const done = cleanup.onView(view(3, { ...base, 'node-4': 'normal' }));
    await waiting;
    expect(asked).toEqual([3]);
    expect((await held()).size).toBe(KEYS);
    release();
    await done;
    expect((await held()).size).toBeLessThan(KEYS);
  });

  it('keeps the parts of a released arc that a later epoch gives back to this node', async () => {
    const cleanup = new RangeCleanup({ nodeId: 'node-3', engine, logger: captureLogger().logger });
    const base = { 'node-1': 'normal', 'node-2': 'normal', 'node-3': 'normal' } as const;
    await cleanup.onView(view(2, { ...base, 'node-4': 'joining' }));
    // The join was called off: node-4 never became a replica, so node-3 keeps everything.
    await cleanup.onView(view(3, { ...base, 'node-4': 'left' }));
    expect((await held()).size).toBe(KEYS);
  });

  it('a restart between the pending epoch and its commit still drops (the releases are kept in the meta keys)', async () => {
    const base = { 'node-1': 'normal', 'node-2': 'normal', 'node-3': 'normal' } as const;
    await new RangeCleanup({ nodeId: 'node-3', engine, logger: captureLogger().logger }).onView(view(2, { ...base, 'node-4': 'joining' }));
    const afterRestart = new RangeCleanup({ nodeId: 'node-3', engine, logger: captureLogger().logger });
    const committed = view(3, { ...base, 'node-4': 'normal' });
    await afterRestart.onView(committed);
    const original = view(1, base);
    const kept = Array.from({ length: KEYS }, (_, i) => keyOf(i)).filter((k) => !original.readReplicas(k).includes('node-3') || committed.readReplicas(k).includes('node-3'));
    expect((await held()).size).toBe(kept.length);
  });

  it('a leaving node drops everything once it is LEFT, not before', async () => {
    const cleanup = new RangeCleanup({ nodeId: 'node-3', engine, logger: captureLogger().logger });
    const base = { 'node-1': 'normal', 'node-2': 'normal' } as const;
    const leaving = view(4, { ...base, 'node-3': 'leaving' });
    await cleanup.onView(leaving);
    expect((await held()).size).toBe(KEYS);
    await cleanup.onView(view(5, { ...base, 'node-3': 'left' }));
    const replicated = Array.from({ length: KEYS }, (_, i) => keyOf(i)).filter((k) => leaving.readReplicas(k).includes('node-3'));
    expect(replicated.length).toBeGreaterThan(0);
    expect((await held()).size).toBe(KEYS - replicated.length);
  });

  it('unheldParts cuts an arc where the later ring gives the node a role again', () => {
    const v = view(3, { 'node-1': 'normal', 'node-2': 'normal', 'node-3': 'normal' });
    const whole = unheldParts(v, 'node-9', { start: 10, end: 5 });
    expect(whole).toEqual([{ start: 10, end: 5 }]);
    const parts = unheldParts(v, 'node-3', { start: 0, end: 0xffff_0000 });
    expect(parts.length).toBeGreaterThan(1);
    // Every key of a part has node-3 in neither ring; every key of the arc outside the parts has it.
    const inPart = (p: number): boolean => parts.some((a) => p > a.start && p <= a.end);
    for (let i = 0; i < 3000; i++) {
      const k = keyOf(i);
      const p = v.current.positionOf(k);
      if (p === 0 || p > 0xffff_0000) continue;
      expect(inPart(p)).toBe(!v.readReplicas(k).includes('node-3'));
    }
  });
});
