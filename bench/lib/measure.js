// Runs a child process and measures its wall time and peak resident set size.
//
// Peak RSS: when GNU time is installed at /usr/bin/time, the child runs as
// `/usr/bin/time -f %M -o <file> <command…>`; %M is the child's ru_maxrss from wait4(2), in KiB:
// the kernel's own high-water mark, exact. Otherwise the harness polls /proc/<pid>/status every
// 20 ms and keeps the largest VmHWM (also a kernel high-water mark; only growth during the last
// poll interval before exit can be missed).
// Wall time: performance.now() from spawn() to the child's exit, in the harness (the wrapper's own
// fork/exec adds about a millisecond).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const GNU_TIME = '/usr/bin/time';
let gnuTimeChecked;

function hasGnuTime() {
  if (gnuTimeChecked === undefined) {
    gnuTimeChecked = false;
    if (process.env.BENCH_RSS === 'proc') return false; // force the fallback (for testing it)
    try {
      fs.accessSync(GNU_TIME, fs.constants.X_OK);
      gnuTimeChecked = true;
    } catch {
      // fall back to polling /proc
    }
  }
  return gnuTimeChecked;
}

export function rssMethod() {
  return hasGnuTime() ? 'GNU time %M (wait4 ru_maxrss)' : '/proc/<pid>/status VmHWM polled every 20 ms';
}

function readHwmKiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Runs `command args` with `cwd`; stdout goes to `stdoutFile` (default /dev/null), stderr is kept
 * (the last 64 KiB) for error messages. Resolves { seconds, peakRssMiB, cpuSeconds (user + system,
 * from GNU time; NaN without it), othersCpuSeconds (CPU time the rest of the machine used during
 * the run, from /proc/stat), code, signal, stderr }.
 */
export function measure(command, args, { cwd, stdoutFile = '/dev/null', env = process.env } = {}) {
  const useTime = hasGnuTime();
  const rssFile = useTime ? path.join(os.tmpdir(), `bench-rss-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`) : null;
  const out = fs.openSync(stdoutFile, 'w');
  const [cmd, argv] = useTime ? [GNU_TIME, ['-f', '%M %U %S', '-o', rssFile, command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    const machineBefore = safeCpuTimes();
    const started = performance.now();
    const child = spawn(cmd, argv, { cwd, env, stdio: ['ignore', out, 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-65536);
    });
    let hwm = 0;
    const poll = useTime ? null : setInterval(() => (hwm = Math.max(hwm, readHwmKiB(child.pid))), 20);
    if (poll) hwm = Math.max(hwm, readHwmKiB(child.pid));
    child.on('error', (error) => {
      if (poll) clearInterval(poll);
      fs.closeSync(out);
      reject(error);
    });
    let seconds = NaN;
    let machineAfter = null;
    child.on('exit', () => {
      seconds = (performance.now() - started) / 1000;
      machineAfter = safeCpuTimes();
      if (poll) clearInterval(poll);
    });
    child.on('close', (code, signal) => {
      if (poll) clearInterval(poll);
      if (Number.isNaN(seconds)) seconds = (performance.now() - started) / 1000;
      fs.closeSync(out);
      let peakKiB = hwm;
      let cpuSeconds = NaN;
      if (rssFile) {
        try {
          // GNU time writes "Command exited with non-zero status N" first on failure.
          const lines = fs.readFileSync(rssFile, 'utf8').trim().split('\n');
          const [maxrss, user, sys] = lines[lines.length - 1].split(' ').map(Number);
          peakKiB = maxrss;
          cpuSeconds = user + sys;
        } catch {
          peakKiB = NaN;
        }
        fs.rmSync(rssFile, { force: true });
      }
      // CPU time the whole machine spent during the run, less the child's own: someone else's load.
      let othersCpuSeconds = NaN;
      if (machineBefore && machineAfter && !Number.isNaN(cpuSeconds)) {
        const busyTicks = machineAfter.total - machineAfter.idle - (machineBefore.total - machineBefore.idle);
        othersCpuSeconds = Math.max(0, busyTicks / CLOCK_TICKS - cpuSeconds);
      }
      resolve({ seconds, peakRssMiB: peakKiB / 1024, cpuSeconds, othersCpuSeconds, code: code ?? 128, signal, stderr });
    });
  });
}

/** A run is clean when the rest of the machine used at most this much CPU per second of it. */
export const NOISE_LIMIT = 0.15;

/**
 * Whether someone else used more than `limit` CPU-seconds per second during the run `r` (from
 * `measure`). Both sides of the difference are counted in 10 ms ticks (/proc/stat before and
 * after, GNU time's %U and %S), so up to 3 ticks of it are rounding: for a 0.2 s run, 15 % is
 * 30 ms, and rounding alone used to flag nearly every run of that length as noisy.
 */
export function wasNoisy(r, limit = NOISE_LIMIT) {
  return r.othersCpuSeconds > limit * r.seconds + 3 / CLOCK_TICKS;
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

// USER_HZ: the unit of /proc/stat, 100 on Linux everywhere that matters.
const CLOCK_TICKS = 100;

function safeCpuTimes() {
  try {
    return cpuTimes();
  } catch {
    return null;
  }
}

function cpuTimes() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  return { idle, total: v.reduce((s, x) => s + x, 0) };
}

/** Fraction (0..1) of all CPUs busy over `ms`, from /proc/stat; NaN where there is no /proc. */
export async function busyFraction(ms = 1000) {
  try {
    const a = cpuTimes();
    await new Promise((r) => setTimeout(r, ms));
    const b = cpuTimes();
    return 1 - (b.idle - a.idle) / Math.max(1, b.total - a.total);
  } catch {
    return NaN;
  }
}

/**
 * On a shared machine: waits (up to `maxWaitMs`) until the CPUs are at most `threshold` busy over
 * one second, so that timed runs do not compete with someone else's compile or test run.
 * Returns { busy: the last busy fraction seen (> threshold when it gave up waiting), waitedMs }.
 */
export async function waitForQuiet({ threshold = 0.2, maxWaitMs = 120_000, log = () => {} } = {}) {
  const started = Date.now();
  let busy = await busyFraction();
  let told = false;
  while (busy > threshold && Date.now() - started < maxWaitMs) {
    if (!told) log(`waiting for the CPUs to quiet down (${(busy * 100).toFixed(0)}% busy)`);
    told = true;
    busy = await busyFraction();
  }
  return { busy, waitedMs: Date.now() - started };
}
