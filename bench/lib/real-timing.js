// Timing helpers for bench/real-runs.js: run a child with its wall time (harness clock, spawn to
// exit), its CPU time (GNU time's %U + %S when /usr/bin/time exists: the child and every
// descendant it waited for) and the CPU the rest of the machine used meanwhile (/proc/stat);
// wait for a quieter machine; parse buildfleet's JSON log lines; summarize a V8 .cpuprofile.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const GNU_TIME = '/usr/bin/time';
const hasGnuTime = (() => {
  try {
    fs.accessSync(GNU_TIME, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
})();

/** Busy and total jiffies of the whole machine (all CPUs), or null without /proc/stat. */
export function cpuTimes() {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3] + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

const TICK = 100; // USER_HZ on Linux

/**
 * Runs `command args`; stdout to `stdoutFile`, stderr to `stderrFile` (both default /dev/null).
 * Resolves { seconds, startMs, endMs (epoch ms), cpuSeconds (NaN without GNU time),
 * othersCpuSeconds (machine busy time during the run minus the child's), code, signal }.
 */
export function timedRun(command, args, { cwd, env = process.env, stdoutFile = '/dev/null', stderrFile = '/dev/null' } = {}) {
  const timeFile = hasGnuTime ? path.join(os.tmpdir(), `real-runs-time-${process.pid}-${Math.random().toString(36).slice(2)}`) : null;
  const [cmd, argv] = hasGnuTime ? [GNU_TIME, ['-f', '%U %S', '-o', timeFile, command, ...args]] : [command, args];
  const out = fs.openSync(stdoutFile, 'w');
  const err = fs.openSync(stderrFile, 'w');
  return new Promise((resolve, reject) => {
    const before = cpuTimes();
    const startMs = Date.now();
    const started = performance.now();
    const child = spawn(cmd, argv, { cwd, env, stdio: ['ignore', out, err] });
    child.on('error', (error) => {
      fs.closeSync(out);
      fs.closeSync(err);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      const seconds = (performance.now() - started) / 1000;
      const endMs = Date.now();
      const after = cpuTimes();
      fs.closeSync(out);
      fs.closeSync(err);
      let cpuSeconds = NaN;
      if (timeFile !== null) {
        try {
          const [u, s] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
          cpuSeconds = u + s;
        } catch {
          // leave NaN
        }
        fs.rmSync(timeFile, { force: true });
      }
      const machineBusy = before && after ? (after.busy - before.busy) / TICK : NaN;
      resolve({ seconds, startMs, endMs, cpuSeconds, othersCpuSeconds: machineBusy - cpuSeconds, code, signal });
    });
  });
}

/**
 * Waits until the machine's CPUs were at most `maxBusy` (fraction of all CPUs) busy over one
 * second, for at most `maxWaitSeconds`. Returns the busy fraction of the last sample.
 */
export async function waitForQuiet({ maxBusy = 0.25, maxWaitSeconds = 60 } = {}) {
  const deadline = Date.now() + maxWaitSeconds * 1000;
  for (;;) {
    const a = cpuTimes();
    if (a === null) return NaN;
    await new Promise((r) => setTimeout(r, 1000));
    const b = cpuTimes();
    const busy = (b.busy - a.busy) / Math.max(1, b.total - a.total);
    if (busy <= maxBusy || Date.now() >= deadline) return busy;
  }
}

/** buildfleet's JSON log lines (pino, `time` in epoch ms), unparsable lines skipped. */
export function readLogEvents(file) {
  const events = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      events.push(JSON.parse(line));
    } catch {
      // not a log line
    }
  }
  return events;
}

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export function quantile(values, q) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v[Math.min(v.length - 1, Math.max(0, Math.round(q * (v.length - 1))))];
}

/** Where a profile frame's code lives, coarsely: a product file, an npm package, node itself. */
function area(url) {
  if (url === '') return '(native / V8)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm:${nm[1]}`;
  const dist = /\/dist\/(.+)$/.exec(url);
  if (dist) return `dist/${dist[1]}`;
  if (url.startsWith('node:')) return 'node internals';
  return path.basename(url);
}

/**
 * Self time per function and per area from V8 .cpuprofile files (all of them in `dir`, added up),
 * and the same time charged to the innermost product function (a frame in dist/) on each sample's
 * stack — after an `await` the resumed async function is on the stack, so the fs and spawn calls
 * it makes are charged to it. Returns { totalMs, functions: [{ name, where, ms }],
 * areas: [{ area, ms }], product: [{ name, where, ms }] }, largest first.
 */
export function summarizeCpuProfiles(dir) {
  const byFn = new Map();
  const byArea = new Map();
  const byProduct = new Map();
  let totalMs = 0;
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const frameKey = (cf) => ({ name: cf.functionName || '(anonymous)', where: cf.url === '' ? '' : `${cf.url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/')}:${cf.lineNumber + 1}` });
    const productFrame = (id) => {
      for (let at = id; at !== undefined; at = parent.get(at)) {
        const cf = nodes.get(at).callFrame;
        if (/\/dist\//.test(cf.url)) return frameKey(cf);
      }
      return null;
    };
    const self = new Map();
    for (let i = 0; i < profile.samples.length; i++) {
      const dt = (profile.timeDeltas[i] ?? 0) / 1000;
      self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
    }
    for (const [id, ms] of self) {
      const cf = nodes.get(id).callFrame;
      const name = cf.functionName || '(anonymous)';
      const where = cf.url === '' ? '' : `${cf.url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/')}:${cf.lineNumber + 1}`;
      const key = `${name} ${where}`;
      const entry = byFn.get(key) ?? { name, where, ms: 0 };
      entry.ms += ms;
      byFn.set(key, entry);
      const a = name.startsWith('(') && cf.url === '' ? name : area(cf.url);
      byArea.set(a, (byArea.get(a) ?? 0) + ms);
      const pf = productFrame(id) ?? { name: name.startsWith('(') && cf.url === '' ? name : '(no product frame: start-up, module loading, event loop)', where: '' };
      const pkey = `${pf.name} ${pf.where}`;
      const pentry = byProduct.get(pkey) ?? { ...pf, ms: 0 };
      pentry.ms += ms;
      byProduct.set(pkey, pentry);
      totalMs += ms;
    }
  }
  return {
    totalMs,
    functions: [...byFn.values()].sort((a, b) => b.ms - a.ms),
    areas: [...byArea.entries()].map(([a, ms]) => ({ area: a, ms })).sort((a, b) => b.ms - a.ms),
    product: [...byProduct.values()].sort((a, b) => b.ms - a.ms),
  };
}
