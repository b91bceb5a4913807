/**
 * Simulates a SWIM cluster of N members (the real protocol code on a simulated clock and
 * network) and reports failure detection time, false suspicions and false downs under loss and
 * event-loop pauses, and messages per member per second.
 *
 *   npm run sim:membership -- --nodes 1000 --json
 */
import { parseArgs } from 'node:util';
import { type MembershipSimReport, runMembershipSimulation } from '../sim/membership-sim.js';

const HELP = `usage: npm run sim:membership -- [options]

Simulates N gossip members (fake clock, in-memory lossy network) and prints how fast a crash
is detected and how often live members are wrongly suspected or declared down.

  --nodes N            cluster size (default 100)
  --seed S             random seed; the same seed gives the same result (default 1)
  --trials T           crashes (each then restarted) in the detection run (default 10)
  --noise-seconds S    simulated seconds of each noise run: 1% loss, 5% loss, pauses (default 300)
  --pause-ms MS        event-loop pause length in the pause run, 0 to skip it (default 200)
  --pause-every-ms MS  mean time between one member's pauses (default 10000)
  --json               print one JSON object instead of text
  --help               this text
`;

function fail(message: string): never {
  process.stderr.write(`sim:membership: ${message}\n${HELP}`);
  process.exit(2);
}

function intFlag(value: string | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got ${value}`);
  return n;
}

function text(r: MembershipSimReport): string {
  const lines = [
    `${r.nodes} members, seed ${r.seed}, ${r.wallSeconds} s wall, ${r.events} simulated events`,
    `crash detection (${r.trials.length} crashes, no loss):`,
    `  first suspicion        ${r.firstSuspicionSeconds} s`,
    `  every member knows     ${r.knowledgeSeconds} s (${r.knowledgeRounds} probe rounds)`,
    `  every member: down     ${r.detectionSeconds} s (${r.detectionRounds} probe rounds; max ${r.detectionSecondsMax} s; minimum suspicion ${r.suspicionMinSeconds} s)`,
    `  'down' spread          ${r.downSpreadGossipRounds} gossip rounds`,
    `  undetected crashes     ${r.undetectedTrials}; false downs without loss ${r.falseDownEventsWithoutLoss}`,
    `  messages/member/s      ${r.messagesPerMemberPerSecond}`,
    `noise runs (${r.settings.noiseSeconds} s each, no crash):`,
  ];
  for (const [name, n] of Object.entries(r.noise)) {
    lines.push(
      `  ${name.padEnd(12)} false suspicions ${n.falseSuspicionsPerMemberHour}/member-hour, false downs ${n.falseDownsPerMemberHour}/member-hour, ` +
        `refutations ${n.refutationsPerMemberHour}/member-hour, ${n.messagesPerMemberPerSecond} messages/member/s (${n.memberHours} member-hours)`,
    );
  }
  return lines.join('\n');
}

function main(): void {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        nodes: { type: 'string' },
        seed: { type: 'string' },
        trials: { type: 'string' },
        'noise-seconds': { type: 'string' },
        'pause-ms': { type: 'string' },
        'pause-every-ms': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(HELP);
    return;
  }
  const report = runMembershipSimulation({
    nodes: intFlag(v.nodes, 'nodes', 100, 3),
    seed: intFlag(v.seed, 'seed', 1, 0),
    trials: intFlag(v.trials, 'trials', 10, 1),
    noiseSeconds: intFlag(v['noise-seconds'], 'noise-seconds', 300, 1),
    pauseMs: intFlag(v['pause-ms'], 'pause-ms', 200, 0),
    pauseEveryMs: intFlag(v['pause-every-ms'], 'pause-every-ms', 10_000, 1),
  });
  process.stdout.write(v.json ? `${JSON.stringify(report)}\n` : `${text(report)}\n`);
}

main();
