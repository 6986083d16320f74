#!/usr/bin/env node
// Benchmark: `buildfleet plan --format json` over a freebsd-index branch: the real INDEX
// (../shared/corpora/freebsd-INDEX-11.gz, 975 ports) and a synthetic 35,000-line INDEX with the
// same dependency degree distribution (bench/lib/gen-index.js), each with a repository where 90% of
// the ports are up to date, against a baseline that only reads the INDEX and splits its lines and
// dependency fields (bench/lib/read-split-index.js), measured alternately in the same run.
//
//   node bench/plan-index.js [--runs 5] [--size 35000] [--seed 1] [--fields shared|independent]
//                            [--no-wait-quiet] [--profile DIR]
//
// --fields independent: the synthetic INDEX of the generator before 2026-11-24, whose build and
// run fields rarely share a port (26.8 distinct dependencies per line against the real 15.4; see
// bench/lib/gen-index.js), to reproduce figures measured with it.
//
// Setup per INDEX (in os.tmpdir()/buildfleet-bench-index, rebuilt when the product's fingerprints
// change): a config directory with the INDEX as the branch's only source file (no port directories,
// so fingerprints cover INDEX lines), an empty-repo plan to learn every fingerprint, then a repo
// index.json where 10% of the ports are stale as whole dependent closures (bench/lib/repo-index.js).
// Wall time and peak RSS per child process: bench/lib/measure.js.
//
// Targets (from the issue): 35k plan median <= 1.5 s, peak RSS <= 400 MB, <= 5x the baseline.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { measure, median, rssMethod, waitForQuiet, wasNoisy } from './lib/measure.js';
import { defaultIndexPath } from './lib/freebsd-index.js';
import { generateIndex, realDegrees } from './lib/gen-index.js';
import { writeRepoIndex, writeEmptyIndex } from './lib/repo-index.js';
import { cliAvailable, cliPath, projectRoot } from './lib/tree-cache.js';

export const COMMAND = 'node bench/plan-index.js';
export const TARGETS = { planSeconds: 1.5, planPeakMB: 400, ratio: 5 };
const MB = (mib) => (mib * 1024 * 1024) / 1e6;
const baselineScript = path.join(projectRoot, 'bench', 'lib', 'read-split-index.js');
const cacheRoot = path.join(os.tmpdir(), 'buildfleet-bench-index');

function args() {
  const a = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = a.indexOf(name);
    return i >= 0 ? a[i + 1] : fallback;
  };
  return { runs: Number(opt('--runs', 5)), size: Number(opt('--size', 35000)), seed: Number(opt('--seed', 1)), fields: opt('--fields', 'shared'), waitQuiet: !a.includes('--no-wait-quiet'), profile: opt('--profile', undefined) };
}

const log = (line) => process.stderr.write(`${line}\n`);

/** A config directory whose branch `ports` reads `indexFile`. */
function makeConfig(name, indexText, gz) {
  const dir = path.join(cacheRoot, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'branches'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'pipelines'));
  fs.mkdirSync(path.join(dir, 'ports'));
  fs.mkdirSync(path.join(dir, 'repo'));
  fs.writeFileSync(path.join(dir, 'hosts.yaml'), 'hosts:\n  - { name: local, transport: local, power: 8 }\n  - { name: b1, transport: local, power: 8 }\n');
  fs.writeFileSync(path.join(dir, 'pipelines', 'port.yaml'), 'steps:\n  - { name: package, run: make package }\nartifacts: ["packages/All/*"]\n');
  const index = gz ? 'INDEX.gz' : 'INDEX';
  fs.writeFileSync(path.join(dir, 'ports', index), indexText);
  fs.writeFileSync(path.join(dir, 'branches', 'ports.yaml'), `source: { path: ports, format: freebsd-index, index: ${index} }\npipeline: port\nrepos:\n  - { name: main, path: repo, format: plain }\n`);
  return { dir, indexFile: path.join(dir, 'ports', index) };
}

async function planJson(dir, nodeArgs = []) {
  const out = path.join(os.tmpdir(), `bench-plan-index-${process.pid}.json`);
  const r = await measure(process.execPath, [...nodeArgs, cliPath, '-C', dir, 'plan', '--format', 'json'], { cwd: projectRoot, stdoutFile: out });
  if (r.code !== 0) throw new Error(`plan exited with ${r.code}:\n${r.stderr}`);
  const plan = JSON.parse(fs.readFileSync(out, 'utf8'));
  fs.rmSync(out, { force: true });
  return plan;
}

/** Writes the repo index with 90% up to date; returns the plan summary of the timed command. */
async function prepare(dir, packages) {
  writeEmptyIndex(dir);
  const empty = await planJson(dir);
  // Ports the product skips even with an empty repository (the real INDEX's two ports that make a
  // package name another port makes: docs/FREEBSD.md) stay out of the repository.
  const built = new Set(empty.branches[0].actions.filter((a) => a.type === 'build').map((a) => a.package));
  const kept = packages.filter((p) => built.has(p.origin));
  let next = 0;
  const newIndex = packages.map((p) => (built.has(p.origin) ? next++ : -1));
  const remap = (targets) => targets.map((t) => newIndex[t]).filter((t) => t !== undefined && t >= 0);
  const meta = { seed: 1, packages: kept.map((p) => ({ name: p.origin, runTargets: remap(p.runTargets), buildTargets: remap(p.buildTargets), depends: [], provides: [] })) };
  const written = writeRepoIndex({ dir, meta, plan: empty, upToDateFraction: 0.9 });
  const plan = await planJson(dir);
  const b = plan.branches[0];
  const builds = b.actions.filter((a) => a.type === 'build').length;
  if (b.upToDate !== written.upToDate) throw new Error(`the plan reports ${b.upToDate} up to date, the repo index was written with ${written.upToDate}`);
  return { ports: packages.length, upToDate: b.upToDate, builds, skips: b.actions.length - builds };
}

async function main() {
  const opts = args();
  if (!cliAvailable()) throw new Error('dist/ is missing: run `npm run build` first');
  fs.mkdirSync(cacheRoot, { recursive: true });
  const realFile = defaultIndexPath();
  const realText = fs.readFileSync(realFile);
  const realPackages = zlib.gunzipSync(realText)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('|'));
  const byPkgname = new Map(realPackages.map((f, i) => [f[0], i]));
  const real = realPackages.map((f) => ({
    origin: f[1].split('/').slice(-2).join('/'),
    runTargets: (f[8] ? f[8].split(' ') : []).map((d) => byPkgname.get(d)),
    buildTargets: [7, 10, 11, 12].flatMap((i) => (f[i] ? f[i].split(' ') : [])).map((d) => byPkgname.get(d)),
  }));
  const synthetic = generateIndex({ count: opts.size, degrees: realDegrees(realFile), seed: opts.seed, fields: opts.fields });
  const syntheticName = `synthetic ${opts.size} ports${opts.fields === 'shared' ? '' : ` (${opts.fields} fields)`}`;
  const cases = [
    { name: `real INDEX-11 (${real.length} ports)`, ...makeConfig('real', realText, true), packages: real },
    { name: syntheticName, ...makeConfig(`synthetic-${opts.size}${opts.fields === 'shared' ? '' : `-${opts.fields}`}`, synthetic.text, false), packages: synthetic.packages },
  ];
  const rows = [];
  for (const c of cases) {
    log(`${c.name}: preparing the repo index`);
    const summary = await prepare(c.dir, c.packages);
    const refs = fs.readFileSync(c.indexFile).length;
    const row = { name: c.name, summary, bytes: refs, baseline: [], plan: [], baselineMB: [], planMB: [], baselineCpu: [], planCpu: [], noisy: 0 };
    const timed = async (argv, what) => {
      if (opts.waitQuiet) await waitForQuiet({ log });
      const r = await measure(process.execPath, argv, { cwd: projectRoot });
      if (r.code !== 0) throw new Error(`${what} exited with ${r.code}:\n${r.stderr}`);
      if (wasNoisy(r)) row.noisy++;
      return r;
    };
    await timed([baselineScript, c.indexFile], 'baseline');
    for (let i = 0; i < opts.runs; i++) {
      const b = await timed([baselineScript, c.indexFile], 'baseline');
      const p = await timed([cliPath, '-C', c.dir, 'plan', '--format', 'json'], 'plan');
      row.baseline.push(b.seconds);
      row.plan.push(p.seconds);
      row.baselineMB.push(MB(b.peakRssMiB));
      row.planMB.push(MB(p.peakRssMiB));
      row.baselineCpu.push(b.cpuSeconds);
      row.planCpu.push(p.cpuSeconds);
      log(`${c.name} run ${i + 1}/${opts.runs}: baseline ${b.seconds.toFixed(3)} s (CPU ${b.cpuSeconds.toFixed(2)} s), plan ${p.seconds.toFixed(3)} s (CPU ${p.cpuSeconds.toFixed(2)} s) ${MB(p.peakRssMiB).toFixed(0)} MB`);
    }
    if (opts.profile) {
      fs.mkdirSync(opts.profile, { recursive: true });
      await planJson(c.dir, ['--cpu-prof', `--cpu-prof-dir=${opts.profile}`]);
      log(`${c.name}: CPU profile in ${opts.profile}`);
    }
    row.baselineMedian = median(row.baseline);
    row.planMedian = median(row.plan);
    row.ratio = row.planMedian / row.baselineMedian;
    row.baselineCpuMedian = median(row.baselineCpu);
    row.planCpuMedian = median(row.planCpu);
    row.planMaxMB = Math.max(...row.planMB);
    row.baselineMaxMB = Math.max(...row.baselineMB);
    rows.push(row);
  }
  const large = rows[rows.length - 1];
  const checks = [
    [`${large.name}: plan median <= ${TARGETS.planSeconds} s`, large.planMedian <= TARGETS.planSeconds, `${large.planMedian.toFixed(3)} s`],
    [`${large.name}: plan peak RSS <= ${TARGETS.planPeakMB} MB`, large.planMaxMB <= TARGETS.planPeakMB, `${large.planMaxMB.toFixed(0)} MB`],
    [`${large.name}: plan <= ${TARGETS.ratio}x the baseline`, large.ratio <= TARGETS.ratio, `${large.ratio.toFixed(2)}x`],
  ];
  const md = [
    `| INDEX | ports up to date / builds / skips | baseline median | plan median | plan / baseline | baseline CPU | plan CPU | plan peak RSS |`,
    `|---|---|---:|---:|---:|---:|---:|---:|`,
    ...rows.map((r) => `| ${r.name} | ${r.summary.upToDate} / ${r.summary.builds} / ${r.summary.skips} | ${r.baselineMedian.toFixed(3)} s | ${r.planMedian.toFixed(3)} s | ${r.ratio.toFixed(2)}x | ${r.baselineCpuMedian.toFixed(2)} s | ${r.planCpuMedian.toFixed(2)} s | ${r.planMaxMB.toFixed(0)} MB |`),
  ].join('\n');
  console.log(md);
  console.log('');
  for (const [what, ok, value] of checks) console.log(`${ok ? 'PASS' : 'FAIL'} ${what}: ${value}`);
  console.log(`\nMedians of ${opts.runs} runs each, alternating, after one untimed warm-up; CPU = user + system (GNU time); node ${process.version}, ${os.cpus().length} CPUs, load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}; RSS by ${rssMethod()}; runs during which other processes used more than 0.15 CPU-seconds per second (beyond 30 ms of tick rounding): ${rows.map((r) => r.noisy).join(', ')}`);
  process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
