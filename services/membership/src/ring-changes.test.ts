import { status } from '@grpc/grpc-js';
import type { Liveness } from '@quorumkv/cluster-view';
import { RingView } from '@quorumkv/ring';
import { describe, expect, it } from 'vitest';
import { type ClusterState, initialState } from './cluster-state.js';
import { applyChange, type RingChange } from './ring-changes.js';

const now = 1_700_000_000_000;
const alive = (): Liveness => 'alive';

function apply(state: ClusterState, change: RingChange, liveness: (id: string) => Liveness | undefined = alive): ClusterState {
  const out = applyChange(state, change, { liveness, now });
  if (!out.next) throw new Error(`no change: ${out.message}`);
  return out.next;
}

function refusal(state: ClusterState, change: RingChange, liveness: (id: string) => Liveness | undefined = alive): { code: number; message: string } {
  try {
    applyChange(state, change, { liveness, now });
  } catch (err) {
    return err as { code: number; message: string };
  }
  throw new Error('expected a refusal');
}

/** Three NORMAL nodes, built the way an operator would: join, then commit each move. */
function threeNodes(): ClusterState {
  let s = initialState(3, 16);
  for (const id of ['node-1', 'node-2', 'node-3']) {
    s = apply(s, { kind: 'join', id, address: `127.0.0.1:${7100 + Number(id.slice(5))}`, zone: '' });
    if (new RingView(s.ring).changesPending) s = apply(s, { kind: 'commit', epoch: s.ring.epoch });
  }
  return s;
}

/** Asserts that the change is refused with `code` (when given) and a message matching `pattern`. */
function expectRefusal(code: number | undefined, pattern: RegExp, state: ClusterState, change: RingChange, liveness?: (id: string) => Liveness | undefined): void {
  const r = refusal(state, change, liveness);
  if (code !== undefined) expect(r.code).toBe(code);
  expect(r.message).toMatch(pattern);
}

const states = (s: ClusterState): Record<string, string> => Object.fromEntries(s.ring.members.map((m) => [m.id, m.state]));

describe('ring changes', () => {
  it('the first node of an empty ring is NORMAL at once (nothing to stream); the next ones are JOINING until their moves commit', () => {
    let s = apply(initialState(3, 16), { kind: 'join', id: 'node-1', address: '127.0.0.1:7101', zone: 'a' });
    expect(s.ring.epoch).toBe(1);
    expect(states(s)).toEqual({ 'node-1': 'normal' });
    s = apply(s, { kind: 'join', id: 'node-2', address: '127.0.0.1:7102', zone: 'b' });
    expect(states(s)).toEqual({ 'node-1': 'normal', 'node-2': 'joining' });
    expect(new RingView(s.ring).transfersTo('node-2').length).toBeGreaterThan(0);
    s = apply(s, { kind: 'commit', epoch: 2 });
    expect(s.ring.epoch).toBe(3);
    expect(states(s)).toEqual({ 'node-1': 'normal', 'node-2': 'normal' });
    expect(s.committedAtMs).toBe(now);
  });

  it('join is idempotent for the same address and refuses the id at another address, or the address under another id', () => {
    const s = threeNodes();
    expect(applyChange(s, { kind: 'join', id: 'node-1', address: '127.0.0.1:7101', zone: '' }, { liveness: alive, now }).next).toBeUndefined();
    expectRefusal(status.ALREADY_EXISTS, /node-1 is already in the ring at 127.0.0.1:7101/, s, { kind: 'join', id: 'node-1', address: '127.0.0.1:9999', zone: '' });
    expectRefusal(status.ALREADY_EXISTS, /address of node-2/, s, { kind: 'join', id: 'node-9', address: '127.0.0.1:7102', zone: '' });
    expectRefusal(status.INVALID_ARGUMENT, /^id:/, s, { kind: 'join', id: 'bad id', address: '127.0.0.1:7109', zone: '' });
    expectRefusal(status.INVALID_ARGUMENT, /^address:.*HOST:PORT/, s, { kind: 'join', id: 'node-9', address: 'nowhere', zone: '' });
  });

  it('one data-moving change at a time: a join or leave waits while another node is JOINING, naming it', () => {
    const s = apply(threeNodes(), { kind: 'join', id: 'node-4', address: '127.0.0.1:7104', zone: '' });
    expectRefusal(status.FAILED_PRECONDITION, /node-4 is joining.*qkv cluster transfers/, s, { kind: 'join', id: 'node-5', address: '127.0.0.1:7105', zone: '' });
    expectRefusal(status.FAILED_PRECONDITION, /./, s, { kind: 'leave', id: 'node-1' });
  });

  it('leave: unknown ids are NOT_FOUND listing the nodes; the last N nodes cannot leave; a down node is told to use remove', () => {
    const s = threeNodes();
    expectRefusal(status.NOT_FOUND, /node-1, node-2, node-3/, s, { kind: 'leave', id: 'node-7' });
    expectRefusal(status.FAILED_PRECONDITION, /2 storage node\(s\) would remain.*N=3/, s, { kind: 'leave', id: 'node-1' });
    const four = apply(apply(s, { kind: 'join', id: 'node-4', address: '127.0.0.1:7104', zone: '' }), { kind: 'commit', epoch: s.ring.epoch + 1 });
    expectRefusal(status.FAILED_PRECONDITION, /node-2 is down.*qkv cluster remove node-2/, four, { kind: 'leave', id: 'node-2' }, () => 'down');
    const leaving = apply(four, { kind: 'leave', id: 'node-2' });
    expect(states(leaving)['node-2']).toBe('leaving');
    expect(new RingView(leaving.ring).releases('node-2').length).toBeGreaterThan(0);
    const left = apply(leaving, { kind: 'commit', epoch: leaving.ring.epoch });
    expect(states(left)['node-2']).toBe('left');
    expectRefusal(status.NOT_FOUND, /./, left, { kind: 'leave', id: 'node-2' });
  });

  it('remove: a live node is refused with a pointer to leave; a dead one is LEAVING and removed (rebuilt from survivors), even while another change is pending', () => {
    const s = apply(threeNodes(), { kind: 'join', id: 'node-4', address: '127.0.0.1:7104', zone: '' });
    expectRefusal(status.FAILED_PRECONDITION, /node-2 is alive.*qkv cluster leave node-2/, s, { kind: 'remove', id: 'node-2' });
    expectRefusal(status.FAILED_PRECONDITION, /./, s, { kind: 'remove', id: 'node-2' }, () => 'suspect');
    const removed = apply(s, { kind: 'remove', id: 'node-2' }, (id) => (id === 'node-2' ? 'down' : 'alive'));
    expect(removed.ring.members.find((m) => m.id === 'node-2')).toMatchObject({ state: 'leaving', removed: true });
    for (const t of new RingView(removed.ring).transfers()) expect(t.sources).not.toContain('node-2');
  });

  it('remove of a JOINING node cancels its join; a removal that moves nothing commits in the same epoch', () => {
    const s = apply(threeNodes(), { kind: 'join', id: 'node-4', address: '127.0.0.1:7104', zone: '' });
    const cancelled = apply(s, { kind: 'remove', id: 'node-4' }, () => 'down');
    expect(states(cancelled)['node-4']).toBe('left');
    expect(new RingView(cancelled.ring).changesPending).toBe(false);
    // Three nodes, N=3: taking one out gains nobody a range, so it is LEFT at once.
    const two = apply(threeNodes(), { kind: 'remove', id: 'node-3' }, () => 'down');
    expect(states(two)).toEqual({ 'node-1': 'normal', 'node-2': 'normal', 'node-3': 'left' });
    expectRefusal(undefined, /no data at all/, apply(two, { kind: 'remove', id: 'node-2' }, () => 'down'), { kind: 'remove', id: 'node-1' }, () => 'down');
  });

  it('commit of an epoch that is no longer current changes nothing', () => {
    const s = apply(threeNodes(), { kind: 'join', id: 'node-4', address: '127.0.0.1:7104', zone: '' });
    expect(applyChange(s, { kind: 'commit', epoch: s.ring.epoch - 1 }, { liveness: alive, now }).next).toBeUndefined();
  });

  it('throttle changes the settings and keeps the ring epoch; out-of-range values are refused naming the field', () => {
    const s = threeNodes();
    const t = apply(s, { kind: 'throttle', bytesPerS: 1_000_000 });
    expect(t.ring).toEqual(s.ring);
    expect(t.version).toBe(s.version + 1);
    expect(t.settings.streamThroughputBytesPerS).toBe(1_000_000);
    expectRefusal(status.INVALID_ARGUMENT, /^bytes_per_s:/, s, { kind: 'throttle', bytesPerS: 0 });
  });
});
