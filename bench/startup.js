#!/usr/bin/env node
// Start-up cost of the CLI: the bundle bin/buildfleet.js runs (dist/bundle/main.cjs with its V8
// code cache, scripts/bundle-cli.mjs) against tsc's modules of dist/ (BUILDFLEET_UNBUNDLED=1, the
// baseline), against the bundle without its code cache (BUILDFLEET_CODE_CACHE=0) and against a
// bare `node -e 0`, measured alternately in the same run: median wall and CPU time (user + system).
//
//   npm run build && node bench/startup.js        # --runs N (default 15), --no-wait-quiet
//
// Commands: `--version`; `plan` of a missing config directory (everything `plan` loads, then exit 1:
// start-up alone); `plan --format json` of the repository's own config (hosts.yaml,
// branches/ at the top: a handful of recipes, so nearly all start-up); and, when
// bench/plan-srcinfo.js has left its tree in $TMPDIR/buildfleet-bench-srcinfo, the plan of the
// 2,533 .SRCINFO files (issue 5's target). Plans are compared byte for byte first.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, median, waitForQuiet } from './lib/measure.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(projectRoot, 'bin', 'buildfleet.js');
const SRCINFO_TREE = path.join(os.tmpdir(), 'buildfleet-bench-srcinfo');

/** The environment of a variant: tsc's modules (`unbundled`), the bundle without its code cache (`nocache`), or as installed. */
const env = (unbundled, nocache = false) => {
  const e = { ...process.env };
  if (unbundled) e.BUILDFLEET_UNBUNDLED = '1';
  else delete e.BUILDFLEET_UNBUNDLED;
  if (nocache) e.BUILDFLEET_CODE_CACHE = '0';
  else delete e.BUILDFLEET_CODE_CACHE;
  return e;
};

function commands() {
  const list = [
    { name: '--version', args: ['--version'] },
    // Loads everything `plan` loads, then stops at the missing config directory (exit 1): start-up alone.
    { name: 'plan, no config (start-up alone)', args: ['-C', path.join(os.tmpdir(), 'buildfleet-bench-startup-no-such-dir'), 'plan'], code: 1 },
    { name: 'plan of the repo config', args: ['-C', projectRoot, 'plan', '--format', 'json'] },
  ];
  if (fs.existsSync(path.join(SRCINFO_TREE, 'branches'))) list.push({ name: 'plan of 2,533 .SRCINFO', args: ['-C', SRCINFO_TREE, 'plan', '--format', 'json'] });
  return list;
}

/** Both builds must print the same thing (and exit alike, with `code`) before either is timed. */
function checkSameOutput(args, code = 0) {
  const run = (unbundled, nocache) => spawnSync(process.execPath, [BIN, ...args], { cwd: projectRoot, env: env(unbundled, nocache), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const [a, b, c] = [run(false), run(true), run(false, true)];
  for (const [other, what] of [[b, 'unbundled'], [c, 'bundled without the code cache']]) {
    if (a.status !== other.status || a.stdout !== other.stdout || a.stderr !== other.stderr) throw new Error(`bundled and ${what} CLI differ on \`buildfleet ${args.join(' ')}\` (exit ${a.status} / ${other.status})`);
  }
  if (a.status !== code) throw new Error(`\`buildfleet ${args.join(' ')}\` exited with ${a.status}:\n${a.stderr}`);
}

export async function run({ runs = 15, waitQuiet = true, log = (l) => process.stderr.write(`${l}\n`) } = {}) {
  if (!fs.existsSync(path.join(projectRoot, 'dist', 'bundle', 'main.cjs.cache'))) throw new Error('dist/bundle/ or its code cache is missing: run `npm run build` first');
  const list = commands();
  for (const c of list) checkSameOutput(c.args, c.code);
  const variants = [
    { key: 'node', label: 'node -e 0', cmd: () => ['-e', '0'], env: env(false), code: 0 },
    ...list.flatMap((c) => [
      { key: `${c.name}|unbundled`, label: `${c.name}, unbundled`, cmd: () => [BIN, ...c.args], env: env(true), code: c.code ?? 0 },
      { key: `${c.name}|nocache`, label: `${c.name}, bundled without the code cache`, cmd: () => [BIN, ...c.args], env: env(false, true), code: c.code ?? 0 },
      { key: `${c.name}|bundled`, label: `${c.name}, bundled`, cmd: () => [BIN, ...c.args], env: env(false), code: c.code ?? 0 },
    ]),
  ];
  const rows = new Map(variants.map((v) => [v.key, { wall: [], cpu: [] }]));
  for (let i = 0; i < runs; i++) {
    if (waitQuiet) await waitForQuiet({ log, maxWaitMs: 30_000 });
    for (const v of variants) {
      const r = await measure(process.execPath, v.cmd(), { cwd: projectRoot, env: v.env });
      if (r.code !== v.code) throw new Error(`${v.label} exited with ${r.code}:\n${r.stderr}`);
      rows.get(v.key).wall.push(r.seconds);
      rows.get(v.key).cpu.push(r.cpuSeconds);
    }
    log(`run ${i + 1}/${runs} done`);
  }
  const stat = (key) => ({ wall: median(rows.get(key).wall), cpu: median(rows.get(key).cpu) });
  const node = stat('node');
  const table = list.map((c) => {
    const before = stat(`${c.name}|unbundled`);
    const after = stat(`${c.name}|bundled`);
    const nocache = stat(`${c.name}|nocache`);
    return { command: c.name, before, nocache, after, wallRatio: after.wall / before.wall, cpuRatio: after.cpu / before.cpu, cacheWallRatio: after.wall / nocache.wall };
  });
  return { runs, node, table, load: os.loadavg().map((x) => x.toFixed(1)).join(' '), node_version: process.version };
}

function print(result) {
  const ms = (s) => `${(s * 1000).toFixed(0)} ms`;
  console.log(`Start-up, medians of ${result.runs} alternating runs (Node ${result.node_version}, load average at the end ${result.load}):`);
  console.log('');
  console.log('| command | unbundled wall | bundled, no code cache, wall | bundled wall | bundled / unbundled | bundled / no code cache | unbundled CPU | no code cache CPU | bundled CPU | bundled / unbundled CPU | bundled over `node -e 0` (wall) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of result.table) {
    console.log(`| ${r.command} | ${ms(r.before.wall)} | ${ms(r.nocache.wall)} | ${ms(r.after.wall)} | ${r.wallRatio.toFixed(2)}x | ${r.cacheWallRatio.toFixed(2)}x | ${ms(r.before.cpu)} | ${ms(r.nocache.cpu)} | ${ms(r.after.cpu)} | ${r.cpuRatio.toFixed(2)}x | ${ms(r.after.wall - result.node.wall)} |`);
  }
  console.log(`| node -e 0 | ${ms(result.node.wall)} | | | | | ${ms(result.node.cpu)} | | | | |`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const runsAt = argv.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 15;
  try {
    print(await run({ runs, waitQuiet: !argv.includes('--no-wait-quiet') }));
  } catch (error) {
    console.error(`bench/startup.js: error: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
