#!/usr/bin/env node
// The `qkv` command. A committed, executable shim rather than a bin pointing straight at
// dist/cli/main.js: npm marks a bin executable only when it links it, and on a fresh clone
// `npm install` runs before the build creates dist/, so the compiled file would stay mode 644
// and `npx qkv` would fail with "Permission denied".
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('qkv: the client is not built yet (run `npm run build` at the repository root)\n');
  process.exit(1);
}
await import(entry.href);
