// HTML report rendering: renderRunHtml (src/report/renderHtml.ts) on synthetic runs.
//
//   npm run build && node bench/report-render.js [--repeats N]
//
// A run of N packages (N = 200, 3,500, 35,000): 85% built on 8 hosts with start
// and end times, 5% failed with a 15-line log tail, 10% skipped (a few duds, each
// holding back a chain), every package with a log path. For each size the median
// of the repeats is printed next to the baseline measured in the same run:
// JSON.stringify of the same data (what runs/<runId>.json costs), with the ratio
// and the page size. While a run goes on the report is rewritten at most every
// 10x its own write time (and 250 ms), so rendering stays under ~10% of the
// master's time whatever the size. Times are wall and CPU time of this process
// (CPU time, from process.cpuUsage(), is what a loaded machine distorts least).
// Target: 35,000 packages in under 1 s of CPU time.
import { renderRunHtml } from '../dist/report/renderHtml.js';

const repeats = Number(process.argv[process.argv.indexOf('--repeats') + 1]) || 5;
const TARGET_CPU_MS = 1000;

function runData(n) {
  const t0 = Date.parse('2026-11-23T20:00:00.000Z');
  const packages = [];
  const blastRadius = [];
  const hostFree = Array.from({ length: 8 }, () => t0);
  for (let i = 0; i < n; i++) {
    const name = `pkg-${i.toString(36)}`;
    const r = (i * 2654435761) % 100;
    if (r < 10) {
      const dud = r < 2;
      packages.push({ package: name, version: '1.0-1', status: 'skipped', reason: dud ? 'dud' : 'dependency-skipped', detail: dud ? 'needs Motif' : `pkg-${(i - 1).toString(36)}` });
      if (dud) blastRadius.push({ package: name, cause: 'dud', detail: 'needs Motif', heldBack: Array.from({ length: 5 }, (_, k) => `pkg-${(i + k + 1).toString(36)}`) });
      continue;
    }
    const host = i % 8;
    const seconds = 5 + (r % 60);
    const start = hostFree[host];
    hostFree[host] = start + seconds * 1000;
    const failed = r >= 95;
    packages.push({
      package: name,
      version: '1.0-1',
      status: failed ? 'failed' : 'built',
      reason: 'version-changed',
      detail: '0.9-1 -> 1.0-1',
      host: `host${host}`,
      seconds,
      startedAt: new Date(start).toISOString(),
      finishedAt: new Date(hostFree[host]).toISOString(),
      log: `main/logs/${name}-1.0-1.log`,
      ...(failed ? { phase: 'build', tail: Array.from({ length: 15 }, (_, k) => `cc -O2 -c src/file${k}.c: error: <stdio.h> & "x" not found`), errorLog: `main/errors/${name}-1.0-1.log` } : {}),
    });
  }
  const end = Math.max(...hostFree);
  return { runId: '20261123T200000Z-bench', startedAt: new Date(t0).toISOString(), finishedAt: new Date(end).toISOString(), generatedAt: new Date(end).toISOString(), interrupted: false, branches: [{ name: 'main', packages, errors: [], blastRadius }] };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median wall and CPU (user + system of this process) milliseconds of `fn` over the repeats. */
function time(fn) {
  const wall = [];
  const cpu = [];
  let out;
  for (let i = 0; i < repeats; i++) {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    out = fn();
    wall.push(performance.now() - started);
    const used = process.cpuUsage(cpuBefore);
    cpu.push((used.user + used.system) / 1000);
  }
  return { ms: median(wall), cpuMs: median(cpu), out };
}

let missed = false;
console.log(`| packages | renderRunHtml wall / CPU (median of ${repeats}) | JSON.stringify baseline wall / CPU | ratio (CPU) | page size |`);
console.log('|---:|---:|---:|---:|---:|');
for (const n of [200, 3500, 35000]) {
  const data = runData(n);
  const html = time(() => renderRunHtml(data, { toStateDir: '../../' }));
  const json = time(() => JSON.stringify(data, null, 2));
  console.log(`| ${n.toLocaleString('en')} | ${html.ms.toFixed(1)} / ${html.cpuMs.toFixed(1)} ms | ${json.ms.toFixed(1)} / ${json.cpuMs.toFixed(1)} ms | ${(html.cpuMs / json.cpuMs).toFixed(1)} | ${(html.out.length / 1024 / 1024).toFixed(2)} MiB |`);
  if (n === 35000 && html.cpuMs > TARGET_CPU_MS) missed = true;
}
console.log(`\ntarget: 35,000 packages in under ${TARGET_CPU_MS} ms of CPU time: ${missed ? 'MISSED' : 'met'}`);
process.exit(missed ? 1 : 0);
