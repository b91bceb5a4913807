/**
 * Measures lookups per second (SHA-1 of the key dominates; the ring walk is a binary search) on a 10-node ring (128 vnodes each): owner, and preference lists
 * of 3 with and without zones and with one node skipped. Run with `npm run -w @quorumkv/ring bench`.
 */
import { HashRing } from '../hash-ring.js';
import { sha1Position } from '../position.js';
import { progress, progressDone, readScriptArgs } from './bin-cli.js';

const OPERATIONS = 5;
readScriptArgs(
  'Usage: npm run -w @quorumkv/ring bench -- [options]\n\nLookups per second on a 10-node ring (128 vnodes each): owner and preference lists of 3, as a markdown table.',
  `about 3 s: ${OPERATIONS} operations × 250k lookups`,
);

const KEYS = Array.from({ length: 200_000 }, (_, i) => `user:${i}`);
let step = 0;

function measure(label: string, ring: HashRing, op: (r: HashRing, key: string) => unknown): string {
  progress(++step, OPERATIONS, label);
  for (let i = 0; i < 50_000; i++) op(ring, KEYS[i] as string); // let the JIT settle
  const t0 = process.hrtime.bigint();
  for (const k of KEYS) op(ring, k);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return `| ${label} | ${Math.round(KEYS.length / seconds / 1000)} k/s |`;
}

const plain = new HashRing();
const zoned = new HashRing();
for (let n = 0; n < 10; n++) {
  plain.addNode(`node-${n}`);
  zoned.addNode(`node-${n}`, { zone: `zone-${n % 3}` });
}
const rows = [
  '| operation (10 nodes × 128 vnodes, string keys) | rate |',
  '|---|---:|',
  measure('sha1Position(key) alone', plain, (_r, k) => sha1Position(k)),
  measure('owner(key)', plain, (r, k) => r.owner(k)),
  measure('preferenceList(key, 3)', plain, (r, k) => r.preferenceList(k, 3)),
  measure('preferenceList(key, 3), 3 zones', zoned, (r, k) => r.preferenceList(k, 3)),
  measure('preferenceList(key, 3), node-0 skipped', plain, (r, k) => r.preferenceList(k, 3, { skip: (id) => id === 'node-0' })),
];
progressDone();
process.stdout.write(`${rows.join('\n')}\n`);
