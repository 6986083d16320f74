#!/usr/bin/env node
// Benchmark: a prerequisite tarball of many entries (issue 8, hostile input: "huge file counts").
// How long the local safety check and the host's extraction take, and whether memory stays bounded.
//
//   npm run build && node bench/tarball-entries.js [--entries 50000] [--reps 3]
//
// Two gzip tarballs of small files (99 per directory): ENTRIES entries, and a 100-entry baseline.
// Per tarball and repetition, in a fresh config and state directory:
// - `check`: checkTarballs() of dist/ in this process (node-tar's parser reading every header);
// - `reconcile`: `buildfleet reconcile` of one trivial build on the local host, which hashes the
//   tarball, checks it, copies it to the host's workdir, extracts it with GNU tar (setuid bits
//   cleared) and builds: wall time, CPU time (user + system, its children included) and peak
//   RSS of the buildfleet process (bench/lib/measure.js).
// Prints medians and the ratios ENTRIES/baseline. No target: the figures are for
// docs/RELIABILITY.md and docs/BENCHMARKS.md; extraction time is mostly the kernel's
// (file creation), so it moves with the machine's load and disk.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { measure, median, rssMethod } from './lib/measure.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(projectRoot, 'bin/buildfleet.js');

function parseArgs(argv) {
  const options = { entries: 50_000, reps: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--entries') options.entries = Number(argv[++i]);
    else if (a === '--reps') options.reps = Number(argv[++i]);
    else throw new Error(`unknown option ${a}`);
  }
  return options;
}

/** A gzip tarball of about `entries` entries: directories of 99 small files. */
async function makeTarball(file, entries) {
  const { Header } = await import('tar');
  const blocks = [];
  const add = (name, type, content = '') => {
    const body = Buffer.from(content);
    const header = new Header({ path: name, type, size: body.length, mode: type === 'Directory' ? 0o755 : 0o644, mtime: new Date(0), uid: 0, gid: 0 });
    header.encode();
    blocks.push(header.block);
    if (body.length > 0) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  };
  add('./', 'Directory');
  add('./share/', 'Directory');
  let count = 2;
  for (let d = 0; count < entries; d++) {
    add(`./share/d${d}/`, 'Directory');
    count++;
    for (let f = 0; f < 99 && count < entries; f++, count++) add(`./share/d${d}/f${f}`, 'File', `${d}.${f}\n`);
  }
  blocks.push(Buffer.alloc(1024));
  fs.writeFileSync(file, gzipSync(Buffer.concat(blocks)));
  return count;
}

function writeConfig(dir, tarball) {
  const sha = createHash('sha256').update(fs.readFileSync(tarball)).digest('hex');
  const files = {
    'hosts.yaml': 'hosts:\n  - name: local\n    transport: local\n    power: 1\n',
    'pipelines/shell.yaml': 'steps:\n  - name: build\n    run: ./build.sh\n    timeout: 10m\n',
    'branches/main.yaml': `source:\n  path: recipes\n  format: recipe\npipeline: shell\nprerequisites:\n  - name: base\n    path: ${tarball}\n    sha256: ${sha}\nrepos:\n  - name: main\n    path: repos/main\n    format: plain\n`,
    'recipes/app/recipe.yaml': 'name: app\nversion: "1.0"\n',
    'recipes/app/build.sh': '#!/bin/sh\nls "$BUILDFLEET_ROOT/share" > "$BUILDFLEET_OUT/app-1.0-1.txt"\n',
  };
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  fs.chmodSync(path.join(dir, 'recipes/app/build.sh'), 0o755);
}

export async function run(options = {}) {
  const { entries = 50_000, reps = 3 } = options;
  const { checkTarballs } = await import(path.join(projectRoot, 'dist/execute/tarballSafety.js'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildfleet-bench-entries-'));
  try {
    const kinds = { baseline: 100, many: entries };
    const files = {};
    const counts = {};
    for (const [kind, n] of Object.entries(kinds)) {
      files[kind] = path.join(dir, `${kind}.tar.gz`);
      counts[kind] = await makeTarball(files[kind], n);
    }
    const results = { baseline: { check: [], wall: [], cpu: [], rss: [] }, many: { check: [], wall: [], cpu: [], rss: [] } };
    for (let rep = 0; rep < reps; rep++) {
      for (const kind of Object.keys(kinds)) {
        const started = performance.now();
        const refusal = await checkTarballs([files[kind]]);
        results[kind].check.push((performance.now() - started) / 1000);
        if (refusal !== null) throw new Error(`${kind}: refused: ${refusal.message}`);
        const config = path.join(dir, `${kind}-${rep}`);
        writeConfig(config, files[kind]);
        const m = await measure(process.execPath, [BIN, '-C', config, 'reconcile'], { cwd: config });
        if (m.code !== 0) throw new Error(`${kind}: reconcile exited ${m.code}: ${m.stderr.slice(-2000)}`);
        results[kind].wall.push(m.seconds);
        results[kind].cpu.push(m.cpuSeconds);
        results[kind].rss.push(m.peakRssMiB);
        fs.rmSync(config, { recursive: true, force: true });
      }
    }
    const row = (label, key, unit, digits) => {
      const b = median(results.baseline[key]);
      const m = median(results.many[key]);
      return `| ${label} | ${b.toFixed(digits)} ${unit} | ${m.toFixed(digits)} ${unit} | ${(m / b).toFixed(1)}× |`;
    };
    const markdown = [
      `| medians of ${reps} | ${counts.baseline} entries (baseline) | ${counts.many} entries | ratio |`,
      '|---|---:|---:|---:|',
      row('check (checkTarballs, in process)', 'check', 's', 3),
      row('reconcile of one build, wall', 'wall', 's', 2),
      row('reconcile, CPU (user + system, children included)', 'cpu', 's', 2),
      row(`reconcile, peak RSS (${rssMethod()})`, 'rss', 'MiB', 0),
    ].join('\n');
    return { results, counts, markdown, text: `load average ${os.loadavg()[0].toFixed(1)} at the end\n${markdown}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await run(parseArgs(process.argv.slice(2)));
  console.log(result.text);
}
