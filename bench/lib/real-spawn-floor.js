#!/usr/bin/env node
// The "Node spawn floor" of bench/real-runs.js: the least a Node orchestrator that starts one
// `sh -c ./build.sh` per build can do. Runs every recipe's build.sh of a no-op config the way
// buildfleet's step runner does (child_process.spawn of `sh -c ./build.sh`, cwd = the recipe
// directory, the BUILDFLEET_* variables, own process group, stdout and stderr piped), `power`
// at a time, with no workspace, log, cache, ledger or repo. Prints one JSON line:
// { builds, spawnSyncMs } (spawnSyncMs: total time the main thread spent inside spawn()).
//
//   node bench/lib/real-spawn-floor.js <recipes dir> <out dir> <power> <version>
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const [recipes, out, powerText, version] = process.argv.slice(2);
const power = Number(powerText);
const names = fs.readdirSync(recipes).sort();
let spawnSyncMs = 0;

function build(name) {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn('sh', ['-c', './build.sh'], {
      cwd: path.join(recipes, name),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BUILDFLEET_OUT: out, BUILDFLEET_PACKAGE: name, BUILDFLEET_VERSION: version },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    spawnSyncMs += performance.now() - t;
    child.stdout.resume();
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${name}: exit ${code}`))));
  });
}

let next = 0;
async function lane() {
  while (next < names.length) await build(names[next++]);
}
await Promise.all(Array.from({ length: power }, lane));
console.log(JSON.stringify({ builds: names.length, spawnSyncMs }));
