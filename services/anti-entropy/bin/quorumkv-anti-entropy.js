#!/usr/bin/env node
// The `quorumkv-anti-entropy` command. A committed, executable shim rather than a bin pointing
// straight at dist/main.js: npm marks a bin executable only when it links it, and on a fresh
// clone `npm install` runs before the build creates dist/, so the compiled file would stay mode
// 644 and `npx quorumkv-anti-entropy` would fail with "Permission denied".
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('quorumkv-anti-entropy: the service is not built yet (run `npm run build` at the repository root)\n');
  process.exit(1);
}
await import(entry.href);
