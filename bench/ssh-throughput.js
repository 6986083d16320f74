#!/usr/bin/env node
// Benchmark: throughput of no-op builds over SSH (issue 4, "Performance").
//
//   npm run build && node bench/ssh-throughput.js [--count 300] [--runs 3] [--json FILE]
//
// Three sshd servers on 127.0.0.2-4 (bench/lib/sshd.js), hosts of power 1, 2 and 4.
// 1. buildfleet: `reconcile` of `count` independent no-op recipes (bench/lib/real-fixture.js:
//    build.sh touches its artifact) over the three SSH hosts; fresh state and repo per run.
//    Wall time of the whole process, so plan, workspace upload, artifact return with sha256
//    check, ledger and publishing are included.
// 2. GNU parallel: `parallel --sshloginfile` with the same hosts and job slots (1/, 2/, 4/),
//    running for each of the `count` jobs the same work on the host: make a scratch directory,
//    touch the artifact there, remove it. Nothing is transferred, so it does less than (1).
// Runs alternate (buildfleet, parallel) after one untimed warm-up of each; the figures are the
// medians. Throughput = builds per second; target: buildfleet >= 2x GNU parallel.
// Exit status 1 when the target is missed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNoop } from './lib/real-fixture.js';
import { median, timedRun } from './lib/real-timing.js';
import { sshHostsYaml, startSshd } from './lib/sshd.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'bin', 'buildfleet.js');
export const COMMAND = 'npm run build && node bench/ssh-throughput.js';
const TARGET_RATIO = 2;
const POWERS = [1, 2, 4];

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const count = Number(arg('count', 300));
const runs = Number(arg('runs', 3));
const jsonFile = arg('json', undefined);

const fleet = await startSshd(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'buildfleet-bench-ssh-'));
try {
  const config = path.join(work, 'config');
  writeNoop(config, { count, power: 1 });
  const sshOpts = `-o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${fleet.knownHostsFile} -i ${fleet.identityFile}`;
  fs.writeFileSync(path.join(config, 'hosts.yaml'), sshHostsYaml(fleet, (i) => POWERS[i]));
  const loginFile = path.join(work, 'sshloginfile');
  fs.writeFileSync(loginFile, fleet.hosts.map((h, i) => `${POWERS[i]}/ssh ${sshOpts} -p ${h.port} ${fleet.user}@${h.address}\n`).join(''));
  const jobs = path.join(work, 'jobs');
  fs.writeFileSync(jobs, Array.from({ length: count }, (_, i) => `n${String(i).padStart(String(count - 1).length, '0')}\n`).join(''));

  const buildfleet = async () => {
    const state = path.join(work, 'state');
    fs.rmSync(state, { recursive: true, force: true });
    fs.rmSync(path.join(config, 'repo'), { recursive: true, force: true });
    const r = await timedRun(process.execPath, [cli, '-C', config, '--state-dir', state, 'reconcile', '--log-format', 'json'], { stderrFile: path.join(work, 'buildfleet.log') });
    if (r.code !== 0) throw new Error(`buildfleet reconcile exited ${r.code}; see ${path.join(work, 'buildfleet.log')}:\n${fs.readFileSync(path.join(work, 'buildfleet.log'), 'utf8').slice(-3000)}`);
    const built = JSON.parse(fs.readFileSync(path.join(config, 'repo', 'index.json'), 'utf8')).packages.length;
    if (built !== count) throw new Error(`buildfleet published ${built} packages, not ${count}`);
    return r.seconds;
  };
  const parallel = async () => {
    const job = `d=$(mktemp -d) && touch "$d/{}-1.0-1.txt" && rm -rf "$d"`;
    const r = await timedRun('parallel', ['--sshloginfile', loginFile, '--jobs', '100%', '--arg-file', jobs, job], { stderrFile: path.join(work, 'parallel.log') });
    if (r.code !== 0) throw new Error(`parallel exited ${r.code}: ${fs.readFileSync(path.join(work, 'parallel.log'), 'utf8').slice(-2000)}`);
    return r.seconds;
  };

  await buildfleet();
  await parallel();
  const bf = [];
  const gp = [];
  for (let i = 0; i < runs; i++) {
    bf.push(await buildfleet());
    gp.push(await parallel());
  }
  const bfMedian = median(bf);
  const gpMedian = median(gp);
  const ratio = count / bfMedian / (count / gpMedian);
  let load = '';
  try {
    load = execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    load = os.loadavg().join(' ');
  }
  const lines = [
    `${count} no-op builds over 3 loopback SSH hosts (powers ${POWERS.join(', ')}), ${runs} timed runs each (median):`,
    `  buildfleet reconcile      ${bfMedian.toFixed(2)} s   ${(count / bfMedian).toFixed(1)} builds/s   (runs: ${bf.map((s) => s.toFixed(2)).join(', ')})`,
    `  GNU parallel --sshlogin   ${gpMedian.toFixed(2)} s   ${(count / gpMedian).toFixed(1)} jobs/s     (runs: ${gp.map((s) => s.toFixed(2)).join(', ')})`,
    `  throughput ratio buildfleet / parallel: ${ratio.toFixed(2)} (target >= ${TARGET_RATIO}): ${ratio >= TARGET_RATIO ? 'PASS' : 'FAIL'}`,
    `  machine: ${os.cpus().length} CPUs; ${load}`,
  ];
  console.log(lines.join('\n'));
  if (jsonFile !== undefined) fs.writeFileSync(jsonFile, JSON.stringify({ count, runs, buildfleetSeconds: bf, parallelSeconds: gp, ratio }, null, 2));
  process.exitCode = ratio >= TARGET_RATIO ? 0 : 1;
} finally {
  fleet.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
