#!/usr/bin/env -S node --no-memory-reducer
// The `quorumkv-rate-limiter` command. A committed, executable shim rather than a bin pointing
// straight at dist/main.js: npm marks a bin executable only when it links it, and on a fresh
// clone `npm install` runs before the build creates dist/, so the compiled file would stay mode
// 644 and `npx quorumkv-rate-limiter` would fail with "Permission denied".
//
// The shebang's flags are the one place the rate limiter's Node/V8 flags are set: the container
// image runs this file, and `npm start`, the tests and the benchmarks read them from here
// (serviceNodeArgs in packages/local-cluster/src/paths.ts). `--no-memory-reducer` (a V8 flag, so
// it must be on the command line): after an idle spell V8's memory reducer shrinks the heap, and
// V8 then sizes the old generation so small that a full GC comes every ~140 ms under load —
// measured with h2load at 64 in flight, p99 9 ms instead of 3.5 ms until the heap grows back,
// which can take the whole of a busy spell. The cost: memory grown under load (~100 MB) is not
// handed back when idle.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('quorumkv-rate-limiter: the service is not built yet (run `npm run build` at the repository root)\n');
  process.exit(1);
}
await import(entry.href);
