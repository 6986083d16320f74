#!/usr/bin/env node
// The installed command: runs the compiled CLI (built by `npm ci` through the `prepare` script),
// bundled into dist/bundle/ by scripts/bundle-cli.mjs (fewer files to load at start-up). Without
// a bundle (no esbuild at build time), or with BUILDFLEET_UNBUNDLED=1 (for profiles by module),
// it runs the same code from tsc's modules in dist/.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/bundle/main.js', import.meta.url);
const unbundled = process.env.BUILDFLEET_UNBUNDLED === '1' || !existsSync(bundle);
const { main } = await import(unbundled ? '../dist/cli/main.js' : bundle.href);

process.exitCode = await main(process.argv);
