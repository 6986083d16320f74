// Schedule quality: critical-path list scheduling vs FIFO on real dependency graphs.
//
//   npm run build && node bench/schedule-quality.js [--seeds N] [--json]
//
// Graphs: chaotic-aur .SRCINFO files (depends + makedepends, resolved through
// pkgname, and a second graph also through provides), archlinuxcn lilac.yaml
// `repo_depends`, and the FreeBSD ports INDEX, all from ../shared/corpora/. Durations are drawn per seed from a
// lognormal (median 60 s, sigma 1.5, capped at 4 h). For each graph, host set and
// seed, src/schedule's simulate() runs in both orders; the table shows median
// makespan / lower bound. Target: critical-path ratio <= 1.05 and never worse than
// FIFO. Also times simulate() on a synthetic 35,000-job / ~100k-edge graph.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { simulate } from '../dist/schedule/index.js';

const CORPORA = fileURLToPath(new URL('../../shared/corpora/', import.meta.url));
const TARGET_RATIO = 1.05;

export const HOST_SETS = {
  '1/2/4/8': [1, 2, 4, 8].map((p) => ({ name: `p${p}`, power: p, labels: [], up: true })),
  '4x4': [1, 2, 3, 4].map((i) => ({ name: `q${i}`, power: 4, labels: [], up: true })),
  '8x8': [1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({ name: `w${i}`, power: 8, labels: [], up: true })),
};

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lognormal durations: median 60 s, sigma 1.5, capped at 4 h; one per node, in id order. */
export function durations(ids, seed, { median = 60, sigma = 1.5, cap = 4 * 3600 } = {}) {
  const rnd = prng(seed);
  const out = new Map();
  for (const id of [...ids].sort()) {
    const u1 = Math.max(rnd(), Number.MIN_VALUE);
    const u2 = rnd();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    out.set(id, Math.min(cap, Math.round(median * Math.exp(sigma * z) * 10) / 10));
  }
  return out;
}

function extract(tarball) {
  const dir = mkdtempSync(join(tmpdir(), 'buildfleet-bench-'));
  execFileSync('tar', ['-xzf', tarball, '-C', dir]);
  return dir;
}

const stripVersion = (dep) => dep.split(/[<>=]/, 1)[0].trim();

/**
 * chaotic-aur: nodes are recipe directories (a few share a `pkgbase`, e.g. the linux
 * -x64v3 variants); edges from depends + makedepends to the recipe producing that
 * pkgname, and with `viaProvides` also to a recipe that `provides` the name (first
 * directory in name order wins). The set lacks Arch's official repositories, so through
 * provides every `glibc` dependency lands on glibc-eac, `gtk3` on gtk3-classic, …:
 * a hub-heavy stress graph rather than the real build order.
 */
export function srcinfoGraph(root, { viaProvides = false } = {}) {
  const top = join(root, 'chaotic-aur');
  const recipes = [];
  for (const dir of readdirSync(top).sort()) {
    const file = join(top, dir, '.SRCINFO');
    if (!existsSync(file)) continue;
    const r = { dir, names: [], provides: [], deps: new Set() };
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^\s*([a-z_0-9]+)\s*=\s*(.*?)\s*$/.exec(line);
      if (!m) continue;
      const [, key, value] = m;
      const name = stripVersion(value);
      if (name === '') continue;
      if (key === 'pkgname') r.names.push(name);
      else if (key === 'provides') r.provides.push(name);
      else if (key === 'depends' || key === 'makedepends') r.deps.add(name);
    }
    recipes.push(r);
  }
  const byName = new Map();
  for (const r of recipes) for (const n of r.names) if (!byName.has(n)) byName.set(n, r.dir);
  if (viaProvides) for (const r of recipes) for (const p of r.provides) if (!byName.has(p)) byName.set(p, r.dir);
  return recipes.map((r) => {
    const deps = new Set();
    for (const d of r.deps) {
      const dir = byName.get(d);
      if (dir !== undefined && dir !== r.dir) deps.add(dir);
    }
    return { id: r.dir, dependsOn: [...deps] };
  });
}

/**
 * archlinuxcn: nodes are `<repo>/<pkgbase>` directories; `repo_depends` entries are a
 * pkgbase, or `{pkgbase: pkgname}`; resolved inside the same repo (archlinuxcn, alarmcn).
 */
export function lilacGraph(root) {
  const nodes = [];
  const dirs = new Set();
  for (const repo of readdirSync(root).sort()) {
    for (const pkg of readdirSync(join(root, repo)).sort()) {
      const file = join(root, repo, pkg, 'lilac.yaml');
      if (!existsSync(file)) continue;
      dirs.add(`${repo}/${pkg}`);
      let doc;
      try {
        doc = parseYaml(readFileSync(file, 'utf8'));
      } catch {
        doc = undefined;
      }
      const raw = Array.isArray(doc?.repo_depends) ? doc.repo_depends : [];
      nodes.push({ repo, pkg, raw });
    }
  }
  return nodes.map(({ repo, pkg, raw }) => {
    const deps = new Set();
    for (const entry of raw) {
      const candidates = typeof entry === 'string' ? [entry] : entry && typeof entry === 'object' ? Object.entries(entry).flat() : [];
      const hit = candidates.map((c) => `${repo}/${String(c)}`).find((id) => dirs.has(id));
      if (hit !== undefined && hit !== `${repo}/${pkg}`) deps.add(hit);
    }
    return { id: `${repo}/${pkg}`, dependsOn: [...deps] };
  });
}

/** FreeBSD INDEX: nodes are pkgnames; edges from build, run, extract, patch and fetch deps. */
export function freebsdIndexGraph(file) {
  const lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n').filter((l) => l.length > 0);
  const names = new Set(lines.map((l) => l.split('|')[0]));
  return lines.map((line) => {
    const f = line.split('|');
    const deps = new Set();
    for (const k of [7, 8, 10, 11, 12]) {
      for (const d of (f[k] ?? '').split(/\s+/)) if (d && d !== f[0] && names.has(d)) deps.add(d);
    }
    return { id: f[0], dependsOn: [...deps] };
  });
}

/** A synthetic DAG: n jobs, each with 0..maxDeps random earlier dependencies. */
export function syntheticGraph(n, maxDeps, seed) {
  const rnd = prng(seed);
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const deps = new Set();
    const k = Math.floor(rnd() * (maxDeps + 1));
    for (let d = 0; d < k && i > 0; d++) deps.add(`s${Math.floor(rnd() * i)}`);
    nodes.push({ id: `s${i}`, dependsOn: [...deps] });
  }
  return nodes;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function loadGraphs() {
  const graphs = [];
  const aur = extract(join(CORPORA, 'chaotic-aur-srcinfo.tar.gz'));
  try {
    graphs.push({ name: 'chaotic-aur .SRCINFO, by pkgname', nodes: srcinfoGraph(aur) });
    graphs.push({ name: 'chaotic-aur .SRCINFO, + provides', nodes: srcinfoGraph(aur, { viaProvides: true }) });
  } finally {
    rmSync(aur, { recursive: true, force: true });
  }
  const cn = extract(join(CORPORA, 'archlinuxcn-lilac.tar.gz'));
  try {
    graphs.push({ name: 'archlinuxcn lilac.yaml repo_depends', nodes: lilacGraph(cn) });
  } finally {
    rmSync(cn, { recursive: true, force: true });
  }
  graphs.push({ name: 'FreeBSD INDEX-11', nodes: freebsdIndexGraph(join(CORPORA, 'freebsd-INDEX-11.gz')) });
  return graphs;
}

/**
 * Runs the benchmark.
 * @param {{ seeds?: number }} [options] number of duration seeds (default 7).
 * @returns {Promise<{ rows: object[], timing: object }>} one row per graph and host set.
 */
export async function run({ seeds = 7 } = {}) {
  const rows = [];
  for (const { name, nodes } of loadGraphs()) {
    const edges = nodes.reduce((n, j) => n + j.dependsOn.length, 0);
    for (const [hostSet, hosts] of Object.entries(HOST_SETS)) {
      const cp = [];
      const fifo = [];
      let notWorse = 0;
      let simMs = 0;
      let inCycles = 0;
      let blockedByCycles = 0;
      for (let seed = 1; seed <= seeds; seed++) {
        const secs = durations(
          nodes.map((j) => j.id),
          seed,
        );
        const jobs = nodes.map((j) => ({ id: j.id, dependsOn: j.dependsOn, seconds: secs.get(j.id) }));
        const t0 = performance.now();
        const a = simulate(jobs, hosts, { order: 'critical-path' });
        simMs = Math.max(simMs, performance.now() - t0);
        const b = simulate(jobs, hosts, { order: 'fifo' });
        inCycles = a.cycles.reduce((n, c) => n + c.length, 0);
        blockedByCycles = a.unscheduled.length - inCycles;
        cp.push({ makespan: a.makespanSeconds, lb: a.lowerBoundSeconds, ratio: a.makespanSeconds / a.lowerBoundSeconds });
        fifo.push({ makespan: b.makespanSeconds, ratio: b.makespanSeconds / b.lowerBoundSeconds });
        if (a.makespanSeconds <= b.makespanSeconds + 1e-9) notWorse++;
      }
      const cpRatio = median(cp.map((r) => r.ratio));
      const cpRatioMax = Math.max(...cp.map((r) => r.ratio));
      rows.push({
        graph: name,
        hosts: hostSet,
        jobs: nodes.length,
        edges,
        inCycles,
        blockedByCycles,
        seeds,
        cpMakespan: median(cp.map((r) => r.makespan)),
        lowerBound: median(cp.map((r) => r.lb)),
        cpRatio,
        cpRatioMax,
        fifoMakespan: median(fifo.map((r) => r.makespan)),
        fifoRatio: median(fifo.map((r) => r.ratio)),
        cpNotWorse: notWorse,
        simMs,
        ok: cpRatioMax <= TARGET_RATIO && notWorse === seeds,
      });
    }
  }

  return { rows, timing: { ...coldTiming(), ...warmTiming() } };
}

function syntheticJobs() {
  const synth = syntheticGraph(35_000, 6, 42);
  const secs = durations(
    synth.map((j) => j.id),
    1,
  );
  return synth.map((j) => ({ id: j.id, dependsOn: j.dependsOn, seconds: secs.get(j.id) }));
}

/** simulate() timings on the synthetic graph in this (warmed-up) process: 5 runs. */
function warmTiming() {
  const jobs = syntheticJobs();
  const times = [];
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    simulate(jobs, HOST_SETS['1/2/4/8']);
    times.push(performance.now() - t0);
  }
  return {
    jobs: jobs.length,
    edges: jobs.reduce((n, j) => n + j.dependsOn.length, 0),
    warmMinMs: Math.min(...times),
    warmMedianMs: median(times),
  };
}

/** The first simulate() call of a fresh process (cold JIT), median of 3 processes. */
function coldTiming() {
  const script = `
    import { simulate } from ${JSON.stringify(new URL('../dist/schedule/index.js', import.meta.url).href)};
    import { syntheticJobs, HOST_SETS } from ${JSON.stringify(import.meta.url)};
    const jobs = syntheticJobs();
    const t0 = performance.now();
    simulate(jobs, HOST_SETS['1/2/4/8']);
    console.log(performance.now() - t0);`;
  const times = [];
  for (let k = 0; k < 3; k++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    times.push(Number(out.trim()));
  }
  return { coldMs: median(times) };
}

export { syntheticJobs };

function printTable({ rows, timing }) {
  const f2 = (x) => x.toFixed(3);
  const s = (x) => String(Math.round(x));
  const header = ['graph', 'hosts', 'jobs', 'edges', 'not run (cycles)', 'CP makespan s', 'LB s', 'CP/LB', 'CP/LB max', 'FIFO makespan s', 'FIFO/LB', 'CP<=FIFO', 'target'];
  const lines = rows.map((r) => [
    r.graph,
    r.hosts,
    s(r.jobs),
    s(r.edges),
    r.inCycles ? `${r.inCycles + r.blockedByCycles} (${r.inCycles} in cycles)` : '0',
    s(r.cpMakespan),
    s(r.lowerBound),
    f2(r.cpRatio),
    f2(r.cpRatioMax),
    s(r.fifoMakespan),
    f2(r.fifoRatio),
    `${r.cpNotWorse}/${r.seeds}`,
    r.ok ? 'ok' : 'MISSED',
  ]);
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const l of lines) console.log(`| ${l.join(' | ')} |`);
  console.log('');
  console.log(
    `Makespans and lower bounds: medians over ${rows[0]?.seeds ?? 0} duration seeds; target CP/LB <= ${TARGET_RATIO} on every seed and CP never worse than FIFO.`,
  );
  console.log('Jobs in a dependency cycle, and those behind one, never run; makespan and bound cover the others.');
  console.log(
    `simulate() on a synthetic graph of ${timing.jobs} jobs / ${timing.edges} edges: first call in a fresh process ${timing.coldMs.toFixed(0)} ms (median of 3), warmed up ${timing.warmMedianMs.toFixed(0)} ms (median of 5, min ${timing.warmMinMs.toFixed(0)} ms).`,
  );
  const cpu = cpus();
  console.log(`Machine: ${cpu.length} x ${cpu[0]?.model ?? '?'}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}, Node ${process.version}.`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seedsArg = process.argv.indexOf('--seeds');
  const seeds = seedsArg > 0 ? Number(process.argv[seedsArg + 1]) : 7;
  const result = await run({ seeds });
  if (process.argv.includes('--json')) console.log(JSON.stringify(result, null, 2));
  else printTable(result);
  if (!result.rows.every((r) => r.ok)) process.exitCode = 1;
}
