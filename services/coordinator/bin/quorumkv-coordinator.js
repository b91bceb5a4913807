#!/usr/bin/env node
// Launches the compiled service (a committed, executable shim: tsc does not set the exec bit on dist/).
import '../dist/main.js';
