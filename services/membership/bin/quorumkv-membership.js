#!/usr/bin/env node
// The `quorumkv-membership` command. A committed, executable shim rather than a bin pointing
// straight at dist/main.js: npm marks a bin executable only when it links it, and on a fresh
// clone `npm install` runs before the build creates dist/.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('quorumkv-membership: the service is not built yet (run `npm run build` at the repository root)\n');
  process.exit(1);
}
await import(entry.href);
