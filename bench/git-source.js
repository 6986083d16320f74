#!/usr/bin/env node
// Benchmark: `buildfleet plan` over a git source against the same tree as a path source,
// measured in the same run. A generated tree of 3,500 native recipes (bench/gen-recipes.js)
// is committed in a git repository that is also the config repository; then N alternating
// timed runs of
//   (a) plan, source `path: recipes`                       — the baseline
//   (b) plan, source `git: .` at main, nothing new          — fetch (no-op), tree extracted, digests remembered
//   (c) plan, source `git: .` after a commit changing one recipe (untimed commit before each run)
//                                                            — fetch, extract the new tree, hash one directory
// and, once per run, (d) plan with the git cache deleted   — clone, extract, hash every directory.
//
//   node bench/git-source.js [--runs 5] [--size 3500] [--seed 1] [--no-wait-quiet]
//
// Target: (b) and (c) within 1.25x of (a) — a git source costs about what a path
// source costs once its cache is warm (the tree hash cache spares the hashing).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, median, waitForQuiet } from './lib/measure.js';

export const COMMAND = 'node bench/git-source.js';
export const TARGET_RATIO = 1.25;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'buildfleet.js');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const runs = Number(option('runs', '5'));
const size = Number(option('size', '3500'));
const seed = option('seed', '1');
const quiet = !process.argv.includes('--no-wait-quiet');

const gitEnv = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.org', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.org' };
const git = (dir, ...args) => execFileSync('git', args, { cwd: dir, env: gitEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildfleet-bench-git-'));
try {
  execFileSync(process.execPath, [path.join(root, 'bench', 'gen-recipes.js'), dir, String(size), seed], { stdio: 'ignore' });
  fs.writeFileSync(path.join(dir, '.gitignore'), 'var/\nstate-*/\n');
  git(dir, 'init', '--quiet', '--initial-branch=main');
  git(dir, 'add', '--all');
  git(dir, 'commit', '--quiet', '-m', 'tree');
  const branchFile = path.join(dir, 'branches', 'main.yaml');
  const pathBranch = fs.readFileSync(branchFile, 'utf8');
  const gitBranch = pathBranch.replace('  path: recipes\n', '  git: .\n  ref: main\n  subdir: recipes\n');
  if (gitBranch === pathBranch) throw new Error('unexpected branch file');
  const recipes = fs.readdirSync(path.join(dir, 'recipes')).sort();

  const plan = async (branch, stateDir) => {
    fs.writeFileSync(branchFile, branch);
    if (quiet) await waitForQuiet();
    const r = await measure(process.execPath, [bin, '-C', dir, '--state-dir', stateDir, 'plan', '--format', 'json'], { cwd: root });
    if (r.code !== 0) throw new Error(`plan exited with ${r.code}:\n${r.stderr}`);
    return r.seconds * 1000;
  };
  let edits = 0;
  const touchOne = () => {
    const name = recipes[edits++ % recipes.length];
    fs.appendFileSync(path.join(dir, 'recipes', name, 'build.sh'), `# edit ${edits}\n`);
    git(dir, 'commit', '--quiet', '-am', `edit ${edits}`);
  };

  const state = path.join(dir, 'state-warm');
  // Warm-up: page cache, the git cache and its digests.
  await plan(pathBranch, path.join(dir, 'state-path'));
  await plan(gitBranch, state);
  const times = { path: [], warm: [], commit: [], cold: [] };
  for (let i = 0; i < runs; i++) {
    times.path.push(await plan(pathBranch, path.join(dir, 'state-path')));
    times.warm.push(await plan(gitBranch, state));
    touchOne();
    times.commit.push(await plan(gitBranch, state));
    const cold = path.join(dir, `state-cold-${i}`);
    times.cold.push(await plan(gitBranch, cold));
    fs.rmSync(cold, { recursive: true, force: true });
  }
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  const ratio = (k) => m[k] / m.path;
  const rows = [
    ['(a) path source', m.path, 1],
    ['(b) git source, nothing new', m.warm, ratio('warm')],
    ['(c) git source, one recipe changed', m.commit, ratio('commit')],
    ['(d) git source, empty cache', m.cold, ratio('cold')],
  ];
  console.log(`plan over ${size} recipes, ${runs} runs each, medians (${COMMAND}):\n`);
  console.log('| case | median | ratio to (a) |\n|---|---:|---:|');
  for (const [name, ms, r] of rows) console.log(`| ${name} | ${(ms / 1000).toFixed(2)} s | ${r.toFixed(2)} |`);
  const ok = ratio('warm') <= TARGET_RATIO && ratio('commit') <= TARGET_RATIO;
  console.log(`\ntarget: (b) and (c) <= ${TARGET_RATIO}x (a): ${ok ? 'met' : 'MISSED'}`);
  process.exitCode = ok ? 0 : 1;
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
