#!/usr/bin/env -S node --no-memory-reducer
// The `quorumkv-rate-limiter` command. A committed, executable shim rather than a bin pointing
// straight at dist/main.js: npm marks a bin executable only when it links it, and on a fresh
// clone `npm install` runs before the build creates dist/, so the compiled file would stay mode
// 644 and `npx quorumkv-rate-limiter` would fail with "Permission denied".
// `--no-memory-reducer` (a V8 flag, so it must be on the command line): see serviceNodeArgs in
// packages/local-cluster/src/paths.ts for why the rate limiter runs without it.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('quorumkv-rate-limiter: the service is not built yet (run `npm run build` at the repository root)\n');
  process.exit(1);
}
await import(entry.href);
