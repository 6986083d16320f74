#!/usr/bin/env node
// The installed command: runs the compiled CLI (built by `npm ci` through the `prepare` script),
// bundled into dist/bundle/ by scripts/bundle-cli.mjs (fewer files to load at start-up);
// BUILDFLEET_UNBUNDLED=1 runs the same code from tsc's modules in dist/ (for profiles by module).
const { main } = await import(process.env.BUILDFLEET_UNBUNDLED === '1' ? '../dist/cli/main.js' : '../dist/bundle/main.js');

process.exitCode = await main(process.argv);
