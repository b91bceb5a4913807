#!/usr/bin/env node
import { COMMANDS } from './registry.js';
import { runCli } from './run-cli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  commands: COMMANDS,
  env: process.env,
  interactive: process.stdout.isTTY === true,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
