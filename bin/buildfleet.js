#!/usr/bin/env node
// The installed command: runs the compiled CLI (built by `npm ci` through the `prepare` script),
// bundled into one file, dist/bundle/main.cjs, by scripts/bundle-cli.mjs and loaded with V8's code
// cache by ./load-bundle.js (fewer files to load, and little to compile, at start-up). Without a
// bundle (no esbuild at build time), or with BUILDFLEET_UNBUNDLED=1 (for profiles by module), it
// runs the same code from tsc's modules in dist/. BUILDFLEET_CODE_CACHE=0 runs the bundle without
// its code cache (bench/startup.js measures what the cache saves).
//
// CommonJS (bin/package.json), not an ES module: Node then starts without setting up its ES module
// loader first, about 6 ms of every command (medians of `--version`: 75 against 81 ms). An error main() lets through ends
// the process as an unhandled rejection: its stack on stderr, exit code 1.
'use strict';
const { existsSync } = require('node:fs');
const { BUNDLE, loadBundle } = require('./load-bundle.js');

async function run() {
  const unbundled = process.env.BUILDFLEET_UNBUNDLED === '1' || !existsSync(BUNDLE);
  const { main } = unbundled ? await import('../dist/cli/main.js') : loadBundle({ useCache: process.env.BUILDFLEET_CODE_CACHE !== '0' }).exports;
  process.exitCode = await main(process.argv);
}

void run();
