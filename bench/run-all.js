#!/usr/bin/env node
// `npm run bench`: builds, then runs every benchmark in turn; each prints its table (figures as
// ratios against a baseline measured in the same run) and its target checks, and a summary table
// ends the output: each benchmark's wall time, exit status and its PASS/FAIL/target lines.
//
//   npm run bench                       # every figure of docs/BENCHMARKS.md (the full set: over an hour)
//   npm run bench -- --quick            # the same benchmarks with fewer runs and smaller sizes (~20 min)
//   npm run bench -- --only load,ssh    # benchmarks whose script name contains one of the words
//
// Every bench/*.js is either listed here or named as a helper: a new benchmark that is not
// registered makes this script refuse to run (exit 2), so the set cannot silently fall behind.
// Exit status: 1 when any benchmark reports a missed target or fails.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** [title (its section in docs/BENCHMARKS.md), script, arguments of --quick]. */
const benches = [
  ['Schedule quality', 'bench/schedule-quality.js', ['--seeds', '2']],
  ['Plan over native recipe trees', 'bench/plan-native.js', ['--runs', '1', '--sizes', '3500', '--no-wait-quiet']],
  ['Plan over real .SRCINFO files', 'bench/plan-srcinfo.js', ['--runs', '1', '--no-wait-quiet']],
  ['Start-up', 'bench/startup.js', ['--runs', '5', '--no-wait-quiet']],
  ['Plan over FreeBSD INDEX files', 'bench/plan-index.js', ['--runs', '1', '--no-wait-quiet']],
  ['Plan over a git source', 'bench/git-source.js', ['--runs', '1', '--no-wait-quiet']],
  ['Real runs on the local host', 'bench/real-runs.js', ['--dag-runs', '1', '--noop-runs', '1', '--no-wait-quiet']],
  ['Isolation overhead', 'bench/isolation.js', ['--pairs', '3', '--no-wait-quiet']],
  ['SSH throughput', 'bench/ssh-throughput.js', ['--runs', '1', '--count', '100']],
  ['Prerequisite transfer', 'bench/prereq-transfer.js', ['--reps', '1']],
  ['Prerequisite tarball of 50,000 entries', 'bench/tarball-entries.js', ['--reps', '1', '--entries', '20000']],
  ['HTML report rendering', 'bench/report-render.js', ['--repeats', '2']],
  ['Load: 5,000 builds over SSH', 'bench/load-5000.js', ['--quick']],
];

/** Scripts in bench/ that are not benchmarks. */
const HELPERS = new Set(['bench/run-all.js', 'bench/gen-recipes.js']);

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? (argv[onlyAt + 1] ?? '').split(',').filter((w) => w !== '') : [];

const listed = new Set(benches.map(([, script]) => script));
const unregistered = fs
  .readdirSync(path.join(root, 'bench'))
  .filter((f) => f.endsWith('.js'))
  .map((f) => `bench/${f}`)
  .filter((f) => !listed.has(f) && !HELPERS.has(f));
if (unregistered.length > 0) {
  console.error(`bench/run-all.js: ${unregistered.join(', ')} not registered; add each to \`benches\` (or to HELPERS when it is not a benchmark)`);
  process.exit(2);
}
const selected = benches.filter(([, script]) => only.length === 0 || only.some((w) => script.includes(w)));

const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

/** Runs one benchmark, its output passed through and kept; resolves { code, seconds, verdicts }. */
function runBench(script, args) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [script, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      out += chunk.toString();
    });
    child.once('close', (code, signal) => {
      const verdicts = out
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /\b(PASS|FAIL|MISSED|target)\b/i.test(l) && l.length < 240 && !l.startsWith('|'));
      resolve({ code: code ?? (signal !== null ? 128 : 1), seconds: (performance.now() - started) / 1000, verdicts });
    });
  });
}

const summary = [];
for (const [title, script, quickArgs] of selected) {
  const args = quick ? quickArgs : [];
  console.log(`\n### ${title} (node ${[script, ...args].join(' ')})\n`);
  const r = await runBench(script, args);
  summary.push({ title, command: `node ${[script, ...args].join(' ')}`, ...r });
}

const failed = summary.filter((s) => s.code !== 0).length;
console.log(`\n## Summary${quick ? ' (--quick)' : ''}\n`);
console.log('| benchmark | command | wall | result |');
console.log('|---|---|---:|---|');
for (const s of summary) console.log(`| ${s.title} | \`${s.command}\` | ${s.seconds.toFixed(0)} s | ${s.code === 0 ? 'targets met' : `exit ${s.code}`} |`);
for (const s of summary) {
  if (s.verdicts.length === 0) continue;
  console.log(`\n${s.title}:`);
  for (const v of s.verdicts.slice(0, 12)) console.log(`  ${v}`);
}
console.log(`\n${summary.length - failed} benchmark(s) met their targets, ${failed} did not`);
process.exit(failed > 0 ? 1 : 0);
