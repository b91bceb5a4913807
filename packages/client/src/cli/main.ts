#!/usr/bin/env node
import { COMMANDS } from './registry.js';
import { runCli } from './run-cli.js';

// With --tls-dir and an IP address (--addr 127.0.0.1:7070), grpc-js passes the IP as the TLS
// server name and Node prints a deprecation warning (DEP0123) nobody running qkv can act on.
// Removing the listeners drops Node's default printer too, so every other warning is printed here.
process.removeAllListeners('warning');
process.on('warning', (warning: Error & { code?: string }) => {
  if (warning.code !== 'DEP0123') process.stderr.write(`qkv: ${warning.name}: ${warning.message}\n`);
});

process.exitCode = await runCli(process.argv.slice(2), {
  commands: COMMANDS,
  env: process.env,
  interactive: process.stdout.isTTY === true,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
