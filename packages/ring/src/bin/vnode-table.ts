/**
 * Prints a markdown table: virtual nodes per node vs the spread of load over 10 nodes and 100k
 * keys. Run with `npm run -w @quorumkv/ring table`.
 */
import { HashRing } from '../hash-ring.js';
import { sha1Position } from '../position.js';
import { progress, progressDone, readScriptArgs } from './bin-cli.js';

const NODES = 10;
const KEYS = 100_000;
const VNODES = [1, 8, 32, 128, 512];
readScriptArgs(
  'Usage: npm run -w @quorumkv/ring table -- [options]\n\nA markdown table: virtual nodes per node vs the spread of load over 10 nodes and 100k keys.',
  `about 1 s: ${VNODES.length} rings × ${KEYS / 1000}k keys`,
);

const positions = Array.from({ length: KEYS }, (_, i) => sha1Position(`key-${i}`));
const lines = [
  `Load over ${NODES} nodes (node-0…node-${NODES - 1}) and ${KEYS / 1000}k keys (key-0…key-${KEYS - 1}), SHA-1 positions.`,
  '',
  '| vnodes | std dev of load (% of mean) | min load (% of mean) | max load (% of mean) |',
  '|---:|---:|---:|---:|',
];
for (const [i, vnodes] of VNODES.entries()) {
  progress(i + 1, VNODES.length, `${vnodes} vnodes per node`);
  const ring = new HashRing({ vnodes });
  for (let n = 0; n < NODES; n++) ring.addNode(`node-${n}`);
  const load = new Map<string, number>(ring.nodes().map((id) => [id, 0]));
  for (const p of positions) {
    const owner = ring.ownerAt(p) as string;
    load.set(owner, (load.get(owner) ?? 0) + 1);
  }
  const counts = [...load.values()];
  const mean = KEYS / NODES;
  const sd = Math.sqrt(counts.reduce((a, c) => a + (c - mean) ** 2, 0) / NODES);
  const pct = (x: number): string => ((100 * x) / mean).toFixed(1);
  lines.push(`| ${vnodes} | ${pct(sd)} | ${pct(Math.min(...counts))} | ${pct(Math.max(...counts))} |`);
}
progressDone();
process.stdout.write(`${lines.join('\n')}\n`);
