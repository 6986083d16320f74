#!/usr/bin/env node
// Benchmark: a run of 5,000 small builds over loopback SSH hosts (issue 8 item 4, "Load").
//
//   npm run build && node bench/load-5000.js [--count 5000] [--baseline 500] [--hosts 4] [--power 4] [--json FILE]
//   node bench/load-5000.js --quick            # --count 1000 --baseline 100
//   --keep: keep the configs, states and repos (kept anyway when a check fails; the path is printed)
//
// `hosts` sshd servers on 127.0.0.2… (bench/lib/sshd.js), each a host of power `power`. Recipes from
// bench/lib/load-fixture.js: 50 base recipes and the rest each depending on one base; each build
// prints 20 numbered lines and an end marker, and writes one artifact. Two whole `reconcile` runs,
// each on a fresh config, state and repo: the baseline (`--baseline` builds) first, then the full
// one (`--count` builds). Each is measured by bench/lib/measure.js (wall time, peak RSS of the
// buildfleet process from GNU time's ru_maxrss, its CPU time, and the CPU the rest of the machine
// used meanwhile), then checked by checkLoadRun: every build's log complete, every repo file
// intact, the ledger and the repo naming the same packages with the same fingerprints, nothing else.
// Targets: both checks clean; peak RSS of the full run ≤ 1.5× the baseline's (memory does not grow
// with the number of builds) and ≤ 512 MiB.
// Exit status 1 when a check or a target fails.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkLoadRun, writeLoadConfig } from './lib/load-fixture.js';
import { measure, rssMethod } from './lib/measure.js';
import { startSshd } from './lib/sshd.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'bin', 'buildfleet.js');
export const COMMAND = 'npm run build && node bench/load-5000.js';
const RSS_RATIO_TARGET = 1.5;
const RSS_CAP_MIB = 512;
const ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const quick = process.argv.includes('--quick');
const count = Number(arg('count', quick ? 1000 : 5000));
const baseline = Number(arg('baseline', quick ? 100 : 500));
const hostCount = Number(arg('hosts', 4));
const power = Number(arg('power', 4));
const jsonFile = arg('json', undefined);
const keep = process.argv.includes('--keep');

const fleet = await startSshd(ADDRESSES.slice(0, hostCount));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'buildfleet-bench-load-'));
let exitCode = 0;
let keepWork = keep;
try {
  const runOne = async (n) => {
    const dir = path.join(work, `c${n}`);
    const { names, repo } = writeLoadConfig(dir, { count: n, fleet, power });
    const stateDir = path.join(dir, 'var');
    const m = await measure(process.execPath, [cli, '-C', dir, 'reconcile', '--format', 'json', '--log-format', 'json'], { cwd: dir, stdoutFile: path.join(dir, 'run.json') });
    const problems = [];
    if (m.code !== 0) {
      problems.push(`reconcile of ${n} builds exited ${m.code}`);
      for (const line of m.stderr.split('\n')) if (/"level":(40|50|60)/.test(line)) problems.push(`log: ${line.slice(0, 400)}`);
    }
    let check = { problems: [], logBytes: NaN, lost: NaN };
    try {
      check = checkLoadRun({ stateDir, repo, names });
    } catch (error) {
      problems.push(`could not check the run: ${error.message}`);
    }
    problems.push(...check.problems);
    const row = { builds: n, seconds: m.seconds, peakRssMiB: m.peakRssMiB, cpuSeconds: m.cpuSeconds, othersCpuSeconds: m.othersCpuSeconds, logBytes: check.logBytes, lost: check.lost, problems };
    // The next run's hosts start empty; the state of this one is kept only to look into a problem.
    if (problems.length > 0 || keep) console.error(`kept ${dir} (state in var/, run result in run.json)`);
    else fs.rmSync(dir, { recursive: true, force: true });
    for (const h of fleet.hosts) fs.rmSync(path.join(h.workdir, 'work'), { recursive: true, force: true });
    return row;
  };
  const base = await runOne(baseline);
  const full = await runOne(count);
  const rssRatio = full.peakRssMiB / base.peakRssMiB;
  const throughputRatio = full.builds / full.seconds / (base.builds / base.seconds);
  const clean = base.problems.length === 0 && full.problems.length === 0;
  const rssOk = rssRatio <= RSS_RATIO_TARGET && full.peakRssMiB <= RSS_CAP_MIB;
  let load = '';
  try {
    load = execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    load = os.loadavg().join(' ');
  }
  const fmt = (r) =>
    `| ${r.builds} | ${r.seconds.toFixed(1)} s | ${(r.builds / r.seconds).toFixed(1)} | ${r.peakRssMiB.toFixed(0)} MiB | ${r.cpuSeconds.toFixed(1)} s | ${r.othersCpuSeconds.toFixed(0)} s | ${(r.logBytes / 1e6).toFixed(1)} MB | ${r.lost} | ${r.problems.length === 0 ? 'clean' : `${r.problems.length} problem(s)`} |`;
  console.log(
    [
      `${count} small builds over ${hostCount} loopback SSH hosts of power ${power}; baseline ${baseline} builds, same run; peak RSS by ${rssMethod()}`,
      '',
      '| builds | wall | builds/s | peak RSS | buildfleet CPU | others\' CPU meanwhile | logs | lost, retried | checks |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---|',
      fmt(base),
      fmt(full),
      '',
      `peak RSS ratio ${count}/${baseline}: ${rssRatio.toFixed(2)} (target <= ${RSS_RATIO_TARGET}, and <= ${RSS_CAP_MIB} MiB): ${rssOk ? 'PASS' : 'FAIL'}`,
      `throughput ratio ${count}/${baseline}: ${throughputRatio.toFixed(2)} (no target)`,
      `checks (logs complete, repo intact, ledger = repo): ${clean ? 'PASS' : 'FAIL'}`,
      ...[...base.problems, ...full.problems].slice(0, 20).map((p) => `  problem: ${p}`),
      `machine: ${os.cpus().length} CPUs; ${load}`,
    ].join('\n'),
  );
  if (jsonFile !== undefined) fs.writeFileSync(jsonFile, JSON.stringify({ count, baseline, hosts: hostCount, power, base, full, rssRatio, throughputRatio }, null, 2));
  exitCode = clean && rssOk ? 0 : 1;
  keepWork ||= !clean;
} finally {
  fleet.stop();
  if (!keepWork) fs.rmSync(work, { recursive: true, force: true });
}
process.exitCode = exitCode;
