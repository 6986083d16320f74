#!/usr/bin/env node
// Benchmark: `buildfleet plan --format json` over the 2,533 real .SRCINFO files of the chaotic-aur
// corpus (../shared/corpora/chaotic-aur-srcinfo.tar.gz, extracted into a temporary directory),
// against a repository that holds half of the recipes at their current version, and a baseline
// measured in the same run that only reads every file of the tree and splits each .SRCINFO into
// its fields (bench/lib/srcinfo-baseline.js). Also: parsing the real pacman databases of
// ../shared/corpora/archdb/ (about 10,000 packages) as observed state, with the product's reader,
// and the tree read alone with one thread against two (bench/lib/srcinfo-tree-read.js): what a
// worker thread saves the main thread and what it costs in CPU.
//
//   node bench/plan-srcinfo.js [--runs 7] [--json FILE] [--no-wait-quiet] [--fresh]
//
// The repository: a `format: pacman` repo (repo/repo.db.tar.gz and the rest) written by the
// product's pacman repository writer from an empty-repo plan of the same tree (every other build
// action, by recipe id, with all its packages at the planned version and fingerprint, as minimal
// package files), so that the plan finds exactly that half up to date. The config directory is
// cached in $TMPDIR/buildfleet-bench-srcinfo/ (publishing runs bsdtar twice per package); --fresh
// makes it in a new temporary directory and removes it afterwards.
// Each timed run waits (up to 2 minutes) for the CPUs to be at most 20% busy unless
// --no-wait-quiet; runs during which other processes used more than 0.15 CPU-seconds per second
// (beyond what 10 ms ticks round to) are re-run (up to 3 times). Wall time, peak RSS and the
// noise rule (`wasNoisy`): bench/lib/measure.js.
//
// Targets (issue 5): plan median <= 0.5 s; plan <= 2x the baseline.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { measure, median, rssMethod, waitForQuiet, wasNoisy } from './lib/measure.js';
import { cliAvailable, planArgs, planJson, projectRoot, summarizePlan } from './lib/tree-cache.js';

export const COMMAND = 'node bench/plan-srcinfo.js';
export const TARGETS = { planSeconds: 0.5, ratio: 2 };
const MB = (mib) => (mib * 1024 * 1024) / 1e6;

function corporaDir() {
  if (process.env.BUILDFLEET_CORPORA) return process.env.BUILDFLEET_CORPORA;
  for (let dir = path.resolve(projectRoot, '..'); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'shared', 'corpora');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error('no shared/corpora above the project: set BUILDFLEET_CORPORA');
  }
}

/** Written when the config's files change, so that a cached directory made by an older harness is rebuilt. */
const SETUP_VERSION = 'pacman-1';
const cacheDir = path.join(os.tmpdir(), 'buildfleet-bench-srcinfo');

/**
 * A config directory (cached in $TMPDIR/buildfleet-bench-srcinfo/ unless --fresh): the extracted
 * tree as pkgs/, one local host, a shell pipeline, branch `arch` with a `format: pacman` repo `repo`
 * (its database is repo/repo.db.tar.gz).
 */
function makeConfig(corpora, log, fresh) {
  const dir = fresh ? fs.mkdtempSync(path.join(os.tmpdir(), 'buildfleet-bench-srcinfo-')) : cacheDir;
  const stamp = path.join(dir, '.bench-setup');
  if (!fresh && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === SETUP_VERSION) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(corpora, 'chaotic-aur-srcinfo.tar.gz'), '-C', dir]);
  fs.renameSync(path.join(dir, 'chaotic-aur'), path.join(dir, 'pkgs'));
  fs.mkdirSync(path.join(dir, 'branches'));
  fs.mkdirSync(path.join(dir, 'pipelines'));
  fs.writeFileSync(path.join(dir, 'hosts.yaml'), 'hosts:\n  - name: local\n    transport: local\n    power: 2\n');
  fs.writeFileSync(path.join(dir, 'pipelines', 'shell.yaml'), 'steps:\n  - name: build\n    run: makepkg\n');
  fs.writeFileSync(path.join(dir, 'branches', 'arch.yaml'), 'source:\n  path: pkgs\n  format: srcinfo\narchitecture: x86_64\npipeline: shell\nrepos:\n  - name: repo\n    path: repo\n    format: pacman\n    prune: true\n');
  fs.writeFileSync(stamp, SETUP_VERSION);
  log(`extracted the corpus into ${dir}`);
  return dir;
}

/**
 * Makes repo/ a pacman repository holding every other built recipe (by id) with all its packages
 * at the planned version and fingerprint, written by the product's own pacman repository writer
 * (dist/publish/pacmanRepo.js: repo.db.tar.gz, repo.files.tar.gz, the links and the fingerprint
 * sidecar) from minimal package files (a .pkg.tar.gz holding a .PKGINFO). Kept when the plan
 * already finds that half up to date (the cached directory of an earlier run).
 */
async function writeHalfRepo(dir, log) {
  const repoDir = path.join(dir, 'repo');
  const aside = `${repoDir}.aside`;
  fs.rmSync(aside, { recursive: true, force: true });
  if (fs.existsSync(repoDir)) fs.renameSync(repoDir, aside);
  const empty = await planJson(dir);
  const builds = empty.branches[0].actions.filter((a) => a.type === 'build').sort((a, b) => (a.package < b.package ? -1 : 1));
  const held = builds.filter((_, i) => i % 2 === 0);
  // A repository holds one package per name: of two held recipes making the same package, the first.
  const versions = new Map();
  for (const b of held) for (const name of b.packages) if (!versions.has(name)) versions.set(name, { version: b.version, fingerprint: b.fingerprint, recipe: b.package });
  // Recipes whose packages the repository holds at their fingerprint: the held half, plus any recipe
  // identical to a held one (the corpus has a few pkgbase directories with the same content).
  const upToDate = builds.filter((b) => b.packages.every((name) => versions.get(name)?.fingerprint === b.fingerprint)).length;
  const summary = { recipes: builds.length, held: held.length, upToDate, packages: versions.size, empty: summarizePlan(empty) };
  if (fs.existsSync(aside)) {
    fs.renameSync(aside, repoDir);
    if (summarizePlan(await planJson(dir)).upToDate === upToDate) return summary;
    fs.rmSync(repoDir, { recursive: true, force: true });
  }
  const { publishPacmanRepo } = await import(pathToFileURL(path.join(projectRoot, 'dist', 'publish', 'pacmanRepo.js')).href);
  const { create } = await import('tar');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'buildfleet-bench-pkgs-'));
  try {
    const add = [];
    for (const b of held) {
      for (const name of b.packages) {
        if (versions.get(name).recipe !== b.package) continue;
        const file = `${name}-${b.version}-x86_64.pkg.tar.gz`;
        const pkgDir = path.join(work, name);
        fs.mkdirSync(pkgDir);
        fs.writeFileSync(path.join(pkgDir, '.PKGINFO'), `pkgname = ${name}\npkgbase = ${b.package}\npkgver = ${b.version}\npkgdesc = ${name} (benchmark package)\nbuilddate = 1700000000\npackager = bench\nsize = 0\narch = x86_64\n`);
        create({ gzip: true, sync: true, file: path.join(work, file), cwd: pkgDir, portable: true }, ['.PKGINFO']);
        add.push({ source: path.join(work, file), entry: { name, version: b.version, file, sha256: '', size: 0, depends: [], provides: [], fingerprint: b.fingerprint, recipe: b.package } });
      }
    }
    log(`publishing ${add.length} packages into ${repoDir} with the product's pacman repository writer`);
    await publishPacmanRepo({ repoPath: repoDir, repoName: 'repo', displayPath: 'repo', add, remove: [] });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return summary;
}

async function timed(args, what) {
  const r = await measure(process.execPath, args, { cwd: projectRoot });
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}:\n${r.stderr}`);
  return r;
}

export async function run({ runs = 7, waitQuiet = true, fresh = false, log = (l) => process.stderr.write(`${l}\n`) } = {}) {
  if (!cliAvailable()) throw new Error('dist/ is missing: run `npm run build` first');
  const corpora = corporaDir();
  const dir = makeConfig(corpora, log, fresh);
  try {
    const repo = await writeHalfRepo(dir, log);
    const baselineArgs = [path.join(projectRoot, 'bench', 'lib', 'srcinfo-baseline.js'), path.join(dir, 'pkgs')];
    const plan = summarizePlan(await planJson(dir)); // warm-up, and the check
    if (plan.upToDate !== repo.upToDate) throw new Error(`the plan finds ${plan.upToDate} recipes up to date, not the ${repo.upToDate} the repository holds`);
    await timed(baselineArgs, 'the baseline');
    const rows = { baseline: [], baselineMB: [], baselineCpu: [], plan: [], planMB: [], planCpu: [], discarded: 0, busy: [] };
    const timedRun = async (args, what) => {
      for (let attempt = 0; ; attempt++) {
        if (waitQuiet) rows.busy.push((await waitForQuiet({ log })).busy);
        const r = await timed(args, what);
        if (!waitQuiet || !wasNoisy(r) || attempt >= 3) return r;
        rows.discarded++;
      }
    };
    for (let i = 0; i < runs; i++) {
      const b = await timedRun(baselineArgs, 'the baseline');
      const p = await timedRun(planArgs(dir), 'buildfleet plan');
      rows.baseline.push(b.seconds);
      rows.baselineMB.push(MB(b.peakRssMiB));
      rows.baselineCpu.push(b.cpuSeconds);
      rows.plan.push(p.seconds);
      rows.planMB.push(MB(p.peakRssMiB));
      rows.planCpu.push(p.cpuSeconds);
      log(`run ${i + 1}/${runs}: baseline ${b.seconds.toFixed(3)} s ${MB(b.peakRssMiB).toFixed(0)} MB, plan ${p.seconds.toFixed(3)} s ${MB(p.peakRssMiB).toFixed(0)} MB`);
    }
    // The tree read alone, one thread against two (this one and a worker), alternately in fresh processes.
    const treeArgs = (threads) => [path.join(projectRoot, 'bench', 'lib', 'srcinfo-tree-read.js'), path.join(dir, 'pkgs'), String(threads)];
    const tree = { 1: [], 2: [] };
    for (let i = 0; i < Math.min(runs, 5); i++) {
      for (const threads of [1, 2]) {
        if (waitQuiet) rows.busy.push((await waitForQuiet({ log })).busy);
        const out = path.join(os.tmpdir(), `bench-tree-read-${process.pid}.json`);
        const r = await measure(process.execPath, treeArgs(threads), { cwd: projectRoot, stdoutFile: out });
        const result = JSON.parse(fs.readFileSync(out, 'utf8'));
        fs.rmSync(out, { force: true });
        if (r.code !== 0) throw new Error(`srcinfo-tree-read exited with ${r.code}:\n${r.stderr}`);
        tree[threads].push(result);
      }
    }
    const archdbFiles = fs.readdirSync(path.join(corpora, 'archdb')).sort().map((f) => path.join(corpora, 'archdb', f));
    const archdbArgs = [path.join(projectRoot, 'bench', 'lib', 'archdb-parse.js'), ...archdbFiles];
    const archdb = { runs: [], inProcessMs: [], result: undefined };
    for (let i = 0; i < Math.min(runs, 5); i++) {
      const out = path.join(os.tmpdir(), `bench-archdb-${process.pid}.json`);
      const r = await measure(process.execPath, archdbArgs, { cwd: projectRoot, stdoutFile: out });
      const result = JSON.parse(fs.readFileSync(out, 'utf8'));
      fs.rmSync(out, { force: true });
      if (r.code !== 0) throw new Error(`archdb-parse exited with ${r.code}:\n${r.stderr}`);
      archdb.result = result;
      if (result.unavailable) break;
      archdb.runs.push(r.seconds);
      archdb.inProcessMs.push(result.ms);
      archdb.peakMB = Math.max(archdb.peakMB ?? 0, MB(r.peakRssMiB));
    }
    return summarize({ rows, repo, plan, archdb, tree, runs, waitQuiet });
  } finally {
    if (fresh) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function summarize({ rows, repo, plan, archdb, tree, runs, waitQuiet }) {
  const planMedian = median(rows.plan);
  const baselineMedian = median(rows.baseline);
  const ratio = planMedian / baselineMedian;
  const planPeak = Math.max(...rows.planMB);
  // CPU seconds (user + system) are less disturbed by other processes than wall time: shown beside the targets, not instead of them.
  const cpuRatio = median(rows.planCpu) / median(rows.baselineCpu);
  const mark = (ok) => (ok ? 'PASS' : 'FAIL');
  const targets = [
    { target: `plan median <= ${TARGETS.planSeconds} s`, value: `${planMedian.toFixed(3)} s`, result: mark(planMedian <= TARGETS.planSeconds) },
    { target: `plan <= ${TARGETS.ratio}x the read-and-split baseline`, value: `${ratio.toFixed(2)}x`, result: mark(ratio <= TARGETS.ratio) },
  ];
  const reasons = Object.entries(plan.reasons).map(([k, v]) => `${v} ${k}`).join(', ');
  const archLine = archdb.result?.unavailable
    ? `archdb: not measured — ${archdb.result.unavailable}.`
    : `archdb: ${archdb.result.packages.toLocaleString('en-US')} packages in ${archdb.result.databases.length} databases parsed as observed state in ${median(archdb.inProcessMs).toFixed(0)} ms median in-process (${archdb.result.databases.map((d) => `${d.file} ${d.packages} in ${d.ms.toFixed(0)} ms`).join(', ')}); the whole child process ${median(archdb.runs).toFixed(3)} s median, peak RSS ${archdb.peakMB.toFixed(0)} MB.`;
  const treeRow = (threads) => {
    const m = (key) => median(tree[threads].map((r) => r[key]));
    return `| ${threads} | ${(m('ms') / 1000).toFixed(3)} | ${(m('mainCpuMs') / 1000).toFixed(2)} | ${(m('cpuMs') / 1000).toFixed(2)} |`;
  };
  const treeLine = `Tree read alone (bench/lib/srcinfo-tree-read.js, ${tree[1].length} alternate fresh processes each): one thread ${(median(tree[1].map((r) => r.ms)) / 1000).toFixed(3)} s wall, ${(median(tree[1].map((r) => r.mainCpuMs)) / 1000).toFixed(2)} s main-thread CPU, ${(median(tree[1].map((r) => r.cpuMs)) / 1000).toFixed(2)} s process CPU; two threads ${(median(tree[2].map((r) => r.ms)) / 1000).toFixed(3)} s, ${(median(tree[2].map((r) => r.mainCpuMs)) / 1000).toFixed(2)} s, ${(median(tree[2].map((r) => r.cpuMs)) / 1000).toFixed(2)} s.`;
  const env = `Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}, load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; peak RSS by ${rssMethod()}; ${waitQuiet ? `each timed run waited for the CPUs to be at most 20% busy (worst seen ${(100 * Math.max(...rows.busy)).toFixed(0)}%), ${rows.discarded} noisy runs re-run` : 'no wait for a quiet machine'}`;
  const md = [
    '| recipes | held by the repo | baseline median (s) | plan median (s) | plan / baseline | baseline CPU (s) | plan CPU (s) | plan / baseline CPU | plan peak RSS (MB) | baseline peak RSS (MB) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${repo.recipes.toLocaleString('en-US')} | ${repo.held.toLocaleString('en-US')} (${repo.packages.toLocaleString('en-US')} packages) | ${baselineMedian.toFixed(3)} | ${planMedian.toFixed(3)} | ${ratio.toFixed(2)}x | ${median(rows.baselineCpu).toFixed(2)} | ${median(rows.planCpu).toFixed(2)} | ${cpuRatio.toFixed(2)}x | ${planPeak.toFixed(0)} | ${Math.max(...rows.baselineMB).toFixed(0)} |`,
    '',
    `Plan actions: ${plan.upToDate} up to date, ${reasons}.`,
    '',
    '| target | measured | result |',
    '| --- | ---: | --- |',
    ...targets.map((t) => `| ${t.target} | ${t.value} | **${t.result}** |`),
    '',
    `All runs, wall seconds (baseline / plan): ${rows.baseline.map((x) => x.toFixed(3)).join(' ')} / ${rows.plan.map((x) => x.toFixed(3)).join(' ')}.`,
    '',
    archLine,
    '',
    'The tree read alone, in a fresh process (medians; CPU from /proc/self/task, 10 ms ticks):',
    '',
    '| threads | wall (s) | main-thread CPU (s) | process CPU (s) |',
    '| ---: | ---: | ---: | ---: |',
    treeRow(1),
    treeRow(2),
    '',
    `Medians of ${runs} alternating runs after one untimed warm-up run of each; ${env}.`,
  ].join('\n');
  const text = [...targets.map((t) => `${t.result}  ${t.target}: ${t.value}`), `(CPU time, user + system: plan ${median(rows.planCpu).toFixed(2)} s, baseline ${median(rows.baselineCpu).toFixed(2)} s, ${cpuRatio.toFixed(2)}x)`, treeLine, archLine].join('\n');
  return { planMedian, baselineMedian, ratio, cpuRatio, planPeak, targets, archdb, markdown: md, text, command: COMMAND };
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') opts.runs = Number(argv[++i]);
    else if (a === '--json') opts.json = path.resolve(argv[++i]);
    else if (a === '--no-wait-quiet') opts.waitQuiet = false;
    else if (a === '--fresh') opts.fresh = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (opts.runs !== undefined && !(Number.isInteger(opts.runs) && opts.runs >= 1)) throw new Error('--runs must be a positive integer');
  return opts;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  (async () => {
    const opts = parseArgs(process.argv);
    const summary = await run(opts);
    process.stdout.write(`\n${summary.text}\n\nMarkdown (docs/BENCHMARKS.md, command: ${COMMAND}):\n\n${summary.markdown}\n`);
    if (opts.json) fs.writeFileSync(opts.json, `${JSON.stringify(summary, null, 2)}\n`);
    return summary.targets.every((t) => t.result === 'PASS') ? 0 : 3;
  })().then(
    (code) => (process.exitCode = code),
    (error) => {
      process.stderr.write(`${error.stack ?? error}\n`);
      process.exitCode = 1;
    },
  );
}
