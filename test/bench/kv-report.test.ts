import { describe, expect, it } from 'vitest';
import { fixedRequest } from './keyed-request.js';
import { kvHeadroom, kvRatios, kvTable, type KvMeasured } from './kv-report.js';
import { ECHO, EGET, EPUT, HTTP2_ECHO, QGET, QPUT, QPUT_SYNC, type KvTarget } from './kv-targets.js';
import { Rounds } from './rounds.js';

const target = (label: string, kind: KvTarget['kind']): KvTarget => ({ label, note: `note of ${label}`, kind, addresses: [], path: '/x', request: fixedRequest(Buffer.alloc(0)), pids: [] });
const targets = [target(ECHO, 'floor'), target(HTTP2_ECHO, 'floor'), target(QPUT, 'put'), target(QPUT_SYNC, 'put'), target(EPUT, 'put'), target(QGET, 'get'), target(EGET, 'get')];

/** Rounds of made-up results: ops/s per label per round, server and generator CPU per op. */
function rounds(perRound: Record<string, number[]>, serverCpuUs = 200, generatorCpuUs = 5): Rounds<KvMeasured> {
  const rs = new Rounds<KvMeasured>();
  const n = Object.values(perRound)[0]!.length;
  for (let r = 0; r < n; r++) {
    for (const [label, ops] of Object.entries(perRound)) {
      rs.add({ label, ops: ops[r]! * 5, errors: 0, seconds: 5, opsPerSecond: ops[r]!, p50Ms: 10, p99Ms: label.startsWith('etcd') ? 20 : 40, serverCpuUs, generatorCpuUs });
    }
  }
  return rs;
}

const measured = rounds({
  [ECHO]: [12_000, 12_000, 12_000],
  [HTTP2_ECHO]: [20_000, 22_000, 21_000],
  [QPUT]: [4_000, 4_400, 4_200],
  [QPUT_SYNC]: [2_000, 2_100, 1_900],
  [EPUT]: [7_000, 7_000, 8_000],
  [QGET]: [6_000, 6_300, 6_600],
  [EGET]: [10_000, 10_500, 11_000],
});

describe('the key-value benchmark report', () => {
  it('tabulates the median round of every target with its CPU per op and its note', () => {
    const table = kvTable(measured, targets);
    expect(table[0]).toBe('| target | ops/s | p50 ms | p99 ms | errors | server CPU µs/op | generator CPU µs/op | what it is |');
    expect(table).toContain(`| ${EGET} | 10,500 | 10.00 | 20.00 | 0 | 200 | 5.0 | note of ${EGET} |`);
    expect(table).toHaveLength(2 + targets.length);
  });

  it('gives each ratio to etcd per round and its median, saying which compare like for like', () => {
    const lines = kvRatios(measured);
    expect(lines[0]).toBe(`${QPUT_SYNC} ÷ ${EPUT} = 0.29   ← like for like: both fsync before acknowledging   (per round: 0.29, 0.30, 0.24)`);
    expect(lines[1]).toContain(`${QPUT} ÷ ${EPUT} = 0.57`);
    expect(lines[1]).toContain('does not fsync; etcd does');
    expect(lines[2]).toContain(`${QGET} ÷ ${EGET} = 0.60`);
    expect(lines[2]).toContain('not linearizable');
    expect(lines.at(-1)).toContain(`${QPUT_SYNC} 40.00 ms vs ${EPUT} 20.00 ms (2.0×)`);
  });

  it('says the headroom is met when the fastest floor is at least twice the fastest target', () => {
    const [headroom, cpu] = kvHeadroom(measured, targets);
    expect(headroom).toBe(`headroom: it drove ${HTTP2_ECHO} at 21,000 calls/s = 2.00× the fastest target (${EGET}, 10,500/s): ≥ 2×, met`);
    expect(cpu).toContain('generator takes at most 2% of the CPU a call costs');
  });

  it('says when the headroom is not met, and how much of a call\'s CPU the generator takes', () => {
    const slow = rounds({ [ECHO]: [12_000], [HTTP2_ECHO]: [15_000], [EGET]: [10_000] }, 100, 100);
    const [headroom, cpu] = kvHeadroom(slow, targets);
    expect(headroom).toContain('= 1.50× the fastest target');
    expect(headroom).toContain('below 2×');
    expect(cpu).toContain('the generator takes at most 50% of the CPU a call costs');
  });
});
