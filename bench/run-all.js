#!/usr/bin/env node
// `npm run bench`: builds, then runs every benchmark in turn; each prints its table
// (figures as ratios against a baseline measured in the same run) and its target checks.
// Exit status: 1 when any benchmark reports a missed target.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const benches = [
  ['Schedule quality', 'bench/schedule-quality.js'],
  ['Plan over native recipe trees', 'bench/plan-native.js'],
  ['Plan over real .SRCINFO files', 'bench/plan-srcinfo.js'],
  ['Plan over FreeBSD INDEX files', 'bench/plan-index.js'],
  ['Real runs on the local host', 'bench/real-runs.js'],
  ['Isolation overhead', 'bench/isolation.js'],
  ['SSH throughput', 'bench/ssh-throughput.js'],
  ['Prerequisite transfer', 'bench/prereq-transfer.js'],
  ['HTML report rendering', 'bench/report-render.js'],
];

const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
let failed = 0;
for (const [title, script] of benches) {
  console.log(`\n### ${title} (node ${script})\n`);
  const result = spawnSync(process.execPath, [script], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
console.log(`\n${benches.length - failed} benchmark(s) met their targets, ${failed} did not`);
process.exit(failed > 0 ? 1 : 0);
