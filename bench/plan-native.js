#!/usr/bin/env node
// Benchmark: `buildfleet plan --format json` over generated native recipe trees of 3,500 and
// 35,000 packages (the size of the FreeBSD ports tree), against a baseline that only reads every
// recipe file and YAML-parses each recipe.yaml, measured in the same run.
//
//   node bench/plan-native.js [--runs 5] [--sizes 3500,35000] [--seed 1] [--degrees direct|index]
//                             [--cache DIR] [--regenerate] [--json FILE] [--profile DIR] [--baseline-only]
//
// Per size: generate the tree (bench/gen-recipes.js; cached in os.tmpdir()/buildfleet-bench), write
// a repo index where 90% of the packages are up to date (from the fingerprints of an empty-repo
// plan; bench/lib/repo-index.js), warm the page cache with one untimed run of each command (the
// plan's output is checked then: upToDate must be 90%), then N alternating timed runs of
//   (a) node bench/lib/read-parse-baseline.js <dir>
//   (b) node bin/buildfleet.js -C <dir> plan --format json > /dev/null
// Wall time and peak RSS of each child: bench/lib/measure.js. Prints a text report and the
// markdown table for docs/BENCHMARKS.md.
//
// Targets (from the issue): 35k plan median <= 2 s and peak RSS <= 400 MB; plan <= 1.5x the
// baseline; 10x the packages costs <= 12x the time (plan median 35k / 3.5k).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, median, rssMethod } from './lib/measure.js';
import { cliAvailable, defaultCacheRoot, ensureRecipes, expectedUpToDate, indexReady, planArgs, planJson, projectRoot, rebuildIndex, summarizePlan } from './lib/tree-cache.js';
import { formatSummary, summarizeCpuProfile } from './lib/cpuprofile.js';

const baselineScript = path.join(projectRoot, 'bench', 'lib', 'read-parse-baseline.js');
export const COMMAND = 'node bench/plan-native.js';
export const TARGETS = { planSeconds: 2, planPeakMB: 400, ratio: 1.5, scalingSlack: 1.2 };

const MB = (mib) => (mib * 1024 * 1024) / 1e6;

async function timed(args, what) {
  const r = await measure(process.execPath, args, { cwd: projectRoot });
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}${r.signal ? ` (${r.signal})` : ''}:\n${r.stderr}`);
  return r;
}

function environment() {
  const cpus = os.cpus();
  return {
    node: process.version,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGB: Math.round(os.totalmem() / 1e9),
    kernel: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    rss: rssMethod(),
  };
}

/**
 * Runs the benchmark. Returns the rows (one per size, smallest first); `rows.summary` holds the
 * scaling figures, the targets with PASS/FAIL, the environment and the report as text and markdown.
 */
export async function run(opts = {}) {
  const {
    sizes = [3500, 35000],
    runs = 5,
    seed = 1,
    degrees = 'direct',
    cacheRoot = defaultCacheRoot,
    regenerate = false,
    baselineOnly = false,
    profileDir,
    log = (line) => process.stderr.write(`${line}\n`),
  } = opts;
  if (!baselineOnly && !cliAvailable()) {
    throw new Error(`${path.join(projectRoot, 'dist', 'cli', 'main.js')} is missing: run \`npm run build\` first (or pass --baseline-only)`);
  }
  const env = environment();
  const rows = [];
  for (const size of [...sizes].sort((a, b) => a - b)) {
    const dir = ensureRecipes({ count: size, seed, degrees, cacheRoot, regenerate, log });
    const baselineArgs = [baselineScript, dir];
    const row = { size, dir, baselineRuns: [], baselinePeakMB: [], planRuns: [], planPeakMB: [] };
    log(`${size}: warm-up`);
    await timed(baselineArgs, 'the baseline');
    if (!baselineOnly) {
      if (!indexReady(dir)) await rebuildIndex(dir, log);
      // Untimed warm-up plan, also checking the index is still 90% up to date for this build of the product.
      let summary = summarizePlan(await planJson(dir));
      if (summary.upToDate !== expectedUpToDate(size)) {
        log(`${size}: the plan reports ${summary.upToDate} up to date, not ${expectedUpToDate(size)}: rewriting the repo index`);
        summary = await rebuildIndex(dir, log);
      }
      row.plan = summary;
    }
    for (let i = 0; i < runs; i++) {
      const b = await timed(baselineArgs, 'the baseline');
      row.baselineRuns.push(b.seconds);
      row.baselinePeakMB.push(MB(b.peakRssMiB));
      let line = `${size} run ${i + 1}/${runs}: baseline ${b.seconds.toFixed(2)} s ${MB(b.peakRssMiB).toFixed(0)} MB`;
      if (!baselineOnly) {
        const p = await timed(planArgs(dir), 'buildfleet plan');
        row.planRuns.push(p.seconds);
        row.planPeakMB.push(MB(p.peakRssMiB));
        line += `, plan ${p.seconds.toFixed(2)} s ${MB(p.peakRssMiB).toFixed(0)} MB`;
      }
      log(line);
    }
    row.baselineMedian = median(row.baselineRuns);
    row.baselineMaxMB = Math.max(...row.baselinePeakMB);
    if (!baselineOnly) {
      row.planMedian = median(row.planRuns);
      row.planMaxMB = Math.max(...row.planPeakMB);
      row.ratio = row.planMedian / row.baselineMedian;
    }
    if (profileDir && !baselineOnly) {
      fs.mkdirSync(profileDir, { recursive: true });
      const name = `plan-${size}.cpuprofile`;
      await planJson(dir, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}`]);
      row.profile = summarizeCpuProfile(JSON.parse(fs.readFileSync(path.join(profileDir, name), 'utf8')), 20);
      log(`${size}: CPU profile of one plan run (${path.join(profileDir, name)}):\n${formatSummary(row.profile)}`);
    }
    rows.push(row);
  }
  rows.summary = summarize(rows, { runs, seed, degrees, baselineOnly, env });
  return rows;
}

function summarize(rows, { runs, seed, degrees, baselineOnly, env }) {
  const small = rows[0];
  const large = rows[rows.length - 1];
  const sizeRatio = large.size / small.size;
  const scaling = {
    sizeRatio,
    plan: baselineOnly ? undefined : large.planMedian / small.planMedian,
    baseline: large.baselineMedian / small.baselineMedian,
  };
  const targets = [];
  const mark = (ok) => (ok ? 'PASS' : 'FAIL');
  if (!baselineOnly) {
    const k = (n) => (n >= 1000 ? `${(n / 1000).toLocaleString('en-US')}k` : String(n));
    targets.push({ target: `${k(large.size)} plan median <= ${TARGETS.planSeconds} s`, value: `${large.planMedian.toFixed(2)} s`, result: mark(large.planMedian <= TARGETS.planSeconds) });
    targets.push({ target: `${k(large.size)} plan peak RSS <= ${TARGETS.planPeakMB} MB`, value: `${large.planMaxMB.toFixed(0)} MB`, result: mark(large.planMaxMB <= TARGETS.planPeakMB) });
    for (const r of rows) {
      targets.push({ target: `${k(r.size)} plan <= ${TARGETS.ratio}x read-and-parse baseline`, value: `${r.ratio.toFixed(2)}x`, result: mark(r.ratio <= TARGETS.ratio) });
    }
    if (rows.length > 1) {
      const allowed = sizeRatio * TARGETS.scalingSlack;
      targets.push({ target: `${sizeRatio}x the packages costs <= ${allowed.toFixed(0)}x the time`, value: `${scaling.plan.toFixed(2)}x`, result: mark(scaling.plan <= allowed) });
    }
  }
  const f = (x, d = 2) => (x === undefined ? 'n/a' : x.toFixed(d));
  const header = ['packages', 'baseline median (s)', 'plan median (s)', 'plan / baseline', 'plan peak RSS (MB)', 'baseline peak RSS (MB)', 'up to date', 'plan actions'];
  const cells = rows.map((r) => [
    r.size.toLocaleString('en-US'),
    f(r.baselineMedian),
    f(r.planMedian),
    r.ratio === undefined ? 'n/a' : `${r.ratio.toFixed(2)}x`,
    f(r.planMaxMB, 0),
    f(r.baselineMaxMB, 0),
    r.plan ? `${r.plan.upToDate.toLocaleString('en-US')} (${((100 * r.plan.upToDate) / r.size).toFixed(0)}%)` : 'n/a',
    r.plan ? Object.entries(r.plan.reasons).map(([k, v]) => `${v} ${k}`).join(', ') : 'n/a',
  ]);
  const mdRow = (c) => `| ${c.join(' | ')} |`;
  const markdown = [
    mdRow(header),
    mdRow(header.map((_, i) => (i === 0 ? '---:' : i === 7 ? '---' : '---:'))),
    ...cells.map(mdRow),
    '',
    `Scaling (${sizeRatio}x the packages): plan ${scaling.plan === undefined ? 'n/a' : `${scaling.plan.toFixed(2)}x`} the time, baseline ${scaling.baseline.toFixed(2)}x.`,
    '',
    ...(targets.length > 0 ? [mdRow(['target', 'measured', 'result']), mdRow(['---', '---:', '---']), ...targets.map((t) => mdRow([t.target, t.value, `**${t.result}**`])), ''] : []),
    `All runs, seconds (baseline / plan): ${rows.map((r) => `${r.size}: ${r.baselineRuns.map((x) => x.toFixed(2)).join(' ')} / ${r.planRuns.map((x) => x.toFixed(2)).join(' ') || 'n/a'}`).join('; ')}.`,
    '',
    `Medians of ${runs} alternating runs after one untimed warm-up run of each; seed ${seed}, ${degrees} degrees; Node ${env.node}, ${env.cpus} × ${env.cpuModel}, ${env.memoryGB} GB, ${env.kernel}; load average at the end ${env.loadAverage}; peak RSS by ${env.rss}.`,
  ].join('\n');
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const textRow = (c) => c.map((x, i) => (i === 7 ? x : x.padStart(widths[i]))).join('  ');
  const text = [textRow(header), ...cells.map(textRow), '', `scaling ${sizeRatio}x packages: plan ${f(scaling.plan)}x time, baseline ${f(scaling.baseline)}x`, ...targets.map((t) => `${t.result}  ${t.target}: ${t.value}`)].join('\n');
  return { scaling, targets, environment: env, markdown, text, command: COMMAND };
}

function parseArgs(argv) {
  const opts = {};
  const args = argv.slice(2);
  const value = (i) => {
    if (args[i + 1] === undefined) throw new Error(`${args[i]} needs a value`);
    return args[i + 1];
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--runs') opts.runs = Number(value(i++));
    else if (a === '--sizes') opts.sizes = value(i++).split(',').map(Number);
    else if (a === '--seed') opts.seed = Number(value(i++));
    else if (a === '--degrees') opts.degrees = value(i++);
    else if (a === '--cache') opts.cacheRoot = path.resolve(value(i++));
    else if (a === '--json') opts.json = path.resolve(value(i++));
    else if (a === '--profile') opts.profileDir = path.resolve(value(i++));
    else if (a === '--regenerate') opts.regenerate = true;
    else if (a === '--baseline-only') opts.baselineOnly = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (opts.runs !== undefined && !(Number.isInteger(opts.runs) && opts.runs >= 1)) throw new Error('--runs must be a positive integer');
  if (opts.sizes && opts.sizes.some((n) => !(Number.isInteger(n) && n >= 1))) throw new Error('--sizes must be positive integers');
  return opts;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  const rows = await run(opts);
  const { text, markdown } = rows.summary;
  process.stdout.write(`\n${text}\n\nMarkdown (docs/BENCHMARKS.md, command: ${COMMAND}):\n\n${markdown}\n`);
  if (opts.json) {
    fs.writeFileSync(opts.json, `${JSON.stringify({ rows: rows.map(({ profile: _p, ...r }) => r), ...rows.summary, profiles: rows.map((r) => r.profile ?? null) }, null, 2)}\n`);
  }
  return rows.summary.targets.every((t) => t.result === 'PASS') ? 0 : 3;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => (process.exitCode = code),
    (error) => {
      process.stderr.write(`${error.stack ?? error}\n`);
      process.exitCode = 1;
    },
  );
}
