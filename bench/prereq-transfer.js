#!/usr/bin/env node
// Benchmark: a 50 MB prerequisite reaches each host once, and the second run transfers nothing
// (issue 4).
//
//   npm run build && node bench/prereq-transfer.js [--mb 50] [--hosts 3] [--reps 2] [--local] [--json FILE]
//
// Per repetition, a fresh config and state: a branch whose prerequisite is a tar.gz holding
// one file of random bytes (incompressible, so the tarball is --mb MB), and as many recipes as
// hosts × 2 whose build checks the file in $BUILDFLEET_ROOT and sleeps 0.3 s (so that every
// host gets builds). Run 1 (`buildfleet reconcile`, the real CLI) installs the root on every
// host; run 2, after new recipes were added, builds again over the same root. Bytes uploaded
// and roots extracted come from reconcile's `prerequisites` log event; wall time is the whole
// reconcile. Baseline in the same run: the same tarball copied to every host and extracted
// there the plain way (`scp` then `ssh … tar -xzf`, hosts in parallel; `cp` + `tar` locally).
//
// Hosts: --hosts loopback sshd servers (bench/lib/sshd.js) when this build has the SSH
// transport (dist/execute/ssh/), else (or with --local) the local host alone.
// Targets: run 1 uploads the tarball exactly once per host, run 2 uploads 0 bytes and extracts
// nothing. Exit status 1 when one is missed.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSshd } from './lib/sshd.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(projectRoot, 'bin', 'buildfleet.js');
export const COMMAND = 'npm run build && node bench/prereq-transfer.js';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function parseArgs(argv) {
  const options = { mb: 50, hosts: 3, reps: 2, local: false, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--mb') options.mb = Number(argv[++i]);
    else if (a === '--hosts') options.hosts = Number(argv[++i]);
    else if (a === '--reps') options.reps = Number(argv[++i]);
    else if (a === '--local') options.local = true;
    else if (a === '--json') options.json = argv[++i];
    else throw new Error(`unknown option ${a}`);
  }
  return options;
}

function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 }));
  });
}

function writeRecipes(dir, names) {
  for (const name of names) {
    const rdir = path.join(dir, 'recipes', name);
    fs.mkdirSync(rdir, { recursive: true });
    fs.writeFileSync(path.join(rdir, 'recipe.yaml'), `name: ${name}\nversion: "1.0"\n`);
    fs.writeFileSync(path.join(rdir, 'build.sh'), '#!/bin/sh\nset -eu\ntest -s "$BUILDFLEET_ROOT/blob"\nsleep 0.3\necho "$BUILDFLEET_PACKAGE" > "$BUILDFLEET_OUT/$BUILDFLEET_PACKAGE-$BUILDFLEET_VERSION.txt"\n', { mode: 0o755 });
  }
}

/** The `prerequisites` event of a reconcile's JSON log (absent: nothing uploaded, extracted or removed). */
function prerequisiteStats(stderr) {
  for (const line of stderr.split('\n')) {
    if (!line.includes('"event":"prerequisites"')) continue;
    const e = JSON.parse(line);
    return { uploads: e.uploads, uploadedBytes: e.uploadedBytes, extractions: e.extractions };
  }
  return { uploads: 0, uploadedBytes: 0, extractions: 0 };
}

async function repetition({ tarball, size, sha256, fleet, hostCount }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildfleet-bench-prereq-'));
  try {
    const hosts =
      fleet === null
        ? '  - name: local\n    transport: local\n    power: 2\n'
        : fleet.hosts
            .map(
              (h) =>
                `  - name: ${h.name}\n    transport: ssh\n    address: ${h.address}\n    port: ${h.port}\n    user: ${fleet.user}\n    identityFile: ${fleet.identityFile}\n    knownHostsFile: ${fleet.knownHostsFile}\n    workdir: ${fs.mkdtempSync(path.join(h.workdir, 'rep-'))}\n    power: 1\n`,
            )
            .join('');
    fs.mkdirSync(path.join(dir, 'pipelines'));
    fs.mkdirSync(path.join(dir, 'branches'));
    fs.writeFileSync(path.join(dir, 'hosts.yaml'), `hosts:\n${hosts}`);
    fs.writeFileSync(path.join(dir, 'pipelines/shell.yaml'), 'steps:\n  - name: build\n    run: ./build.sh\n');
    fs.writeFileSync(
      path.join(dir, 'branches/main.yaml'),
      `source:\n  path: recipes\n  format: recipe\npipeline: shell\nprerequisites:\n  - name: base\n    path: ${tarball}\n    sha256: ${sha256}\nrepos:\n  - name: main\n    path: repos/main\n    format: plain\n`,
    );
    const perRun = hostCount * 2;
    writeRecipes(dir, Array.from({ length: perRun }, (_, i) => `first${i}`));
    const reconcile = () => run(process.execPath, [BIN, '-C', dir, 'reconcile', '--log-format', 'json'], { env: { ...process.env, NO_COLOR: '1' } });
    const first = await reconcile();
    if (first.code !== 0) throw new Error(`run 1 exited ${first.code}:\n${first.stderr.slice(-3000)}`);
    writeRecipes(dir, Array.from({ length: perRun }, (_, i) => `second${i}`));
    const second = await reconcile();
    if (second.code !== 0) throw new Error(`run 2 exited ${second.code}:\n${second.stderr.slice(-3000)}`);
    return { first: { seconds: first.seconds, ...prerequisiteStats(first.stderr) }, second: { seconds: second.seconds, ...prerequisiteStats(second.stderr) }, size };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The plain way: copy the tarball to every host (in parallel) and extract it there. */
async function baseline({ tarball, fleet }) {
  const started = performance.now();
  if (fleet === null) {
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'buildfleet-bench-prereq-base-'));
    try {
      fs.copyFileSync(tarball, path.join(dest, 'base.tar.gz'));
      fs.mkdirSync(path.join(dest, 'root'));
      const r = spawnSync('tar', ['-xzf', path.join(dest, 'base.tar.gz'), '-C', path.join(dest, 'root')]);
      if (r.status !== 0) throw new Error(`tar: ${r.stderr}`);
    } finally {
      fs.rmSync(dest, { recursive: true, force: true });
    }
  } else {
    const ssh = (h) => ['-i', fleet.identityFile, '-o', `UserKnownHostsFile=${fleet.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes'];
    await Promise.all(
      fleet.hosts.map(async (h) => {
        const dest = path.join(h.workdir, `baseline-${process.pid}`);
        const target = `${fleet.user}@${h.address}`;
        let r = await run('ssh', [...ssh(h), '-p', String(h.port), target, `mkdir -p ${dest}/root`]);
        if (r.code !== 0) throw new Error(`ssh: ${r.stderr}`);
        r = await run('scp', [...ssh(h), '-q', '-P', String(h.port), tarball, `${target}:${dest}/base.tar.gz`]);
        if (r.code !== 0) throw new Error(`scp: ${r.stderr}`);
        r = await run('ssh', [...ssh(h), '-p', String(h.port), target, `tar -xzf ${dest}/base.tar.gz -C ${dest}/root && rm -rf ${dest}`]);
        if (r.code !== 0) throw new Error(`ssh tar: ${r.stderr}`);
      }),
    );
  }
  return (performance.now() - started) / 1000;
}

export async function main(options) {
  const sshAvailable = fs.existsSync(path.join(projectRoot, 'dist/execute/ssh'));
  const useSsh = sshAvailable && !options.local;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'buildfleet-bench-prereq-data-'));
  let fleet = null;
  try {
    // The tarball: one file of random bytes, so gzip cannot shrink it.
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    const fd = fs.openSync(path.join(src, 'blob'), 'w');
    for (let i = 0; i < options.mb; i++) fs.writeSync(fd, randomBytes(1024 * 1024));
    fs.closeSync(fd);
    const tarball = path.join(work, 'base.tar.gz');
    const made = spawnSync('tar', ['-C', src, '-czf', tarball, '.']);
    if (made.status !== 0) throw new Error(`tar: ${made.stderr}`);
    fs.rmSync(src, { recursive: true });
    const size = fs.statSync(tarball).size;
    const sha256 = spawnSync('sha256sum', [tarball], { encoding: 'utf8' }).stdout.split(' ')[0];
    if (useSsh) {
      const started = await startSshd(Array.from({ length: options.hosts }, (_, i) => `127.0.0.${i + 2}`));
      fleet = { ...started, hosts: started.hosts.map((h, i) => ({ ...h, name: `h${i + 1}` })) };
    }
    const hostCount = fleet === null ? 1 : fleet.hosts.length;

    const reps = [];
    const baselines = [];
    for (let r = 0; r < options.reps; r++) {
      baselines.push(await baseline({ tarball, fleet }));
      reps.push(await repetition({ tarball, size, sha256, fleet, hostCount }));
    }
    const first = median(reps.map((r) => r.first.seconds));
    const second = median(reps.map((r) => r.second.seconds));
    const base = median(baselines);
    const ok1 = reps.every((r) => r.first.uploads === hostCount && r.first.uploadedBytes === hostCount * size && r.first.extractions === hostCount);
    const ok2 = reps.every((r) => r.second.uploadedBytes === 0 && r.second.uploads === 0 && r.second.extractions === 0);
    const mb = (b) => (b / 1024 / 1024).toFixed(1);
    const lines = [
      `hosts: ${fleet === null ? `the local host only (${sshAvailable ? '--local' : 'this build has no SSH transport'})` : `${hostCount} loopback sshd servers, power 1`}; tarball ${mb(size)} MB; ${options.reps} repetition(s), medians`,
      '',
      '| run | uploads | MB uploaded | roots extracted | wall time | vs plain copy+extract to every host |',
      '|---|---:|---:|---:|---:|---:|',
      `| 1 (root installed) | ${reps.map((r) => r.first.uploads).join(', ')} | ${reps.map((r) => mb(r.first.uploadedBytes)).join(', ')} | ${reps.map((r) => r.first.extractions).join(', ')} | ${first.toFixed(2)} s | ${(first / base).toFixed(2)}× |`,
      `| 2 (root re-used) | ${reps.map((r) => r.second.uploads).join(', ')} | ${reps.map((r) => mb(r.second.uploadedBytes)).join(', ')} | ${reps.map((r) => r.second.extractions).join(', ')} | ${second.toFixed(2)} s | ${(second / base).toFixed(2)}× |`,
      `| baseline: ${fleet === null ? 'cp + tar -xzf' : 'scp + ssh tar -xzf, hosts in parallel'} | | | | ${base.toFixed(2)} s | 1.00× |`,
      '',
      `target: run 1 uploads the tarball once per host (${hostCount} × ${mb(size)} MB): ${ok1 ? 'met' : 'MISSED'}`,
      `target: run 2 uploads and extracts nothing: ${ok2 ? 'met' : 'MISSED'}`,
    ];
    console.log(lines.join('\n'));
    if (options.json !== undefined) fs.writeFileSync(options.json, `${JSON.stringify({ reps, baselines, size, hostCount, ok1, ok2 }, null, 2)}\n`);
    return ok1 && ok2;
  } finally {
    if (fleet !== null) await fleet.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(parseArgs(process.argv.slice(2))).then(
    (ok) => process.exit(ok ? 0 : 1),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
