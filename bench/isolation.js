#!/usr/bin/env node
// Benchmark: the cost of overlay isolation per build (issue 9: <= 50 ms extra per no-op build).
//
//   npm run build && node bench/isolation.js [--pairs 15] [--steps 1] [--no-wait-quiet] [--json FILE]
//
// Builds go through the real LocalTransport (dist/), one at a time, on a busybox root
// (bench/lib/busybox-root.js), with the host probed once as reconcile does (it picks the
// launcher): a fresh workspace, a step `: > "$BUILDFLEET_OUT/x"`, artifact collection, the
// workspace removed. Each round runs the same no-op build with `isolation: none`, with
// `isolation: overlay` and the probed launcher (perl where the host has it), and with the
// shell launcher (unshare, sh, mount: the baseline of the launcher), the order rotating; the
// figure is the median over the rounds of (overlay − none), harness clock around build() +
// release(). CPU per build: this process's CPU time plus that of the children it waited for
// (/proc/self/stat, 10 ms ticks), mean per build of each kind; the CPU cost is what a busy
// machine cannot hide. Context in the same run: bare `sh -c :` and the bare chains spawned
// from Node, wall and CPU time (GNU time), medians over the same count.
// Exit status 1 when the target is missed. `import { run } from './bench/isolation.js'` returns
// { rows, extraMs, ok, text, markdown } without printing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBusyboxRoot } from './lib/busybox-root.js';
import { waitForQuiet } from './lib/real-timing.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const COMMAND = 'npm run build && node bench/isolation.js';
export const TARGET_EXTRA_MS = 50;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function parseArgs(argv) {
  const options = { pairs: 15, steps: 1, waitQuiet: true, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--pairs') options.pairs = Number(argv[++i]);
    else if (a === '--steps') options.steps = Number(argv[++i]);
    else if (a === '--no-wait-quiet') options.waitQuiet = false;
    else if (a === '--json') options.json = argv[++i];
    else throw new Error(`unknown option ${a}`);
  }
  return options;
}

export async function run(options = {}) {
  const { pairs = 15, steps = 1, waitQuiet = true } = options;
  const { LocalTransport } = await import(path.join(projectRoot, 'dist/execute/localTransport.js'));
  const { stepCommand, probeIsolation } = await import(path.join(projectRoot, 'dist/execute/isolation.js'));
  const { LocalShell } = await import(path.join(projectRoot, 'dist/execute/localTransport.js'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildfleet-bench-isolation-'));
  try {
    const root = makeBusyboxRoot(path.join(dir, 'root'));
    const recipeDir = path.join(dir, 'recipe');
    fs.mkdirSync(recipeDir);
    fs.writeFileSync(path.join(recipeDir, 'recipe.yaml'), 'name: noop\nversion: "1.0"\n');
    // Probed once, as reconcile probes each host once per run: it picks the launcher.
    const isolation = await probeIsolation(new LocalShell(), dir);
    if (!isolation.overlay) throw new Error(`this machine cannot isolate: ${isolation.reason}`);
    const host = { name: 'local', transport: 'local', power: 1, labels: [], port: 22, workdir: dir, file: 'hosts.yaml', position: { line: 1, col: 1 } };
    const stateDir = path.join(dir, 'state');
    const baseEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
    // `overlay`: the launcher the probe picked; `overlay-shell`: the shell launcher (unshare, sh,
    // mount), the baseline of the launcher's cost, in the same run.
    const transports = {
      none: new LocalTransport({ isolation, host, stateDir, baseEnv }),
      overlay: new LocalTransport({ isolation, host, stateDir, baseEnv }),
      'overlay-shell': new LocalTransport({ isolation: { ...isolation, launcher: 'shell' }, host, stateDir, baseEnv }),
    };
    const pipeline = (isolation) => ({
      name: isolation,
      file: `pipelines/${isolation}.yaml`,
      steps: Array.from({ length: steps }, (_, i) => ({ name: `s${i}`, run: ': > "$BUILDFLEET_OUT/x"', timeoutSeconds: 60, network: false })),
      artifacts: [],
      isolation,
      limits: {},
      digest: isolation,
    });
    const pipelines = { none: pipeline('none'), overlay: pipeline('overlay'), 'overlay-shell': pipeline('overlay') };
    // CPU time of this process and of the children it waited for (/proc/self/stat, clock ticks).
    const TICK_MS = 10;
    const childrenCpuMs = () => {
      const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
      return (Number(fields[13]) + Number(fields[14])) * TICK_MS;
    };
    const cpuNow = () => {
      const own = process.cpuUsage();
      return (own.user + own.system) / 1000 + childrenCpuMs();
    };
    const cpuTotal = { none: 0, overlay: 0, 'overlay-shell': 0 };
    const once = async (kind) => {
      const started = performance.now();
      const cpu = cpuNow();
      const result = await transports[kind].build({
        runId: 'bench', branch: 'main', recipeId: 'noop', packages: ['noop'], version: '1.0-1', fingerprint: 'f',
        recipeDir, pipeline: pipelines[kind], deps: [], logFile: path.join(dir, 'logs', `${kind}.log`),
        signal: new AbortController().signal, graceSeconds: 2, keepFailedWorkspace: false, root,
      });
      await result.release();
      const ms = performance.now() - started;
      cpuTotal[kind] += cpuNow() - cpu;
      if (result.status !== 'built') throw new Error(`${kind} build ${result.status}: ${result.message}\n${result.tail.join('\n')}`);
      return ms;
    };
    const spawnMs = (argv) => {
      const started = performance.now();
      const r = spawnSync(argv[0], argv.slice(1), { stdio: 'ignore', cwd: dir });
      if (r.status !== 0) throw new Error(`${argv[0]} exited ${r.status}`);
      return performance.now() - started;
    };
    // CPU time (user + system) of a command and every process it waited for: GNU time, less
    // sensitive than wall time to what else the machine runs. NaN without /usr/bin/time.
    const timeFile = path.join(dir, 'time.out');
    const cpuMs = (argv) => {
      const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, ...argv], { stdio: 'ignore', cwd: dir });
      if (r.status !== 0) return NaN;
      const [u, s] = fs.readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number);
      return (u + s) * 1000;
    };
    const ws = path.join(dir, 'ws');
    for (const d of ['build', 'deps', 'out', 'tmp', 'overlay/upper', 'overlay/work', 'overlay/merged']) fs.mkdirSync(path.join(ws, d), { recursive: true });
    const chainOf = (host) => stepCommand({ run: ':', isolation: 'overlay', workspace: ws, root, network: false, limits: {}, host }).command.argv;
    const chain = chainOf(isolation);
    const shellChain = chainOf({ ...isolation, launcher: 'shell' });

    // Warm-up (page cache, first user namespace), untimed.
    for (const kind of Object.keys(transports)) await once(kind);
    for (const kind of Object.keys(cpuTotal)) cpuTotal[kind] = 0;
    const busy = waitQuiet ? await waitForQuiet() : NaN;
    const wall = { none: [], overlay: [], 'overlay-shell': [] };
    const extra = [];
    const extraShell = [];
    const bareSh = [];
    const bareChain = [];
    const bareShellChain = [];
    const cpuSh = [];
    const cpuChain = [];
    const cpuShellChain = [];
    const orders = [
      ['none', 'overlay', 'overlay-shell'],
      ['overlay', 'overlay-shell', 'none'],
      ['overlay-shell', 'none', 'overlay'],
    ];
    for (let i = 0; i < pairs; i++) {
      const t = {};
      for (const kind of orders[i % orders.length]) t[kind] = await once(kind);
      for (const kind of Object.keys(t)) wall[kind].push(t[kind]);
      extra.push(t.overlay - t.none);
      extraShell.push(t['overlay-shell'] - t.none);
      bareSh.push(spawnMs(['sh', '-c', ':']));
      bareChain.push(spawnMs(chain));
      bareShellChain.push(spawnMs(shellChain));
      cpuSh.push(cpuMs(['sh', '-c', ':']));
      cpuChain.push(cpuMs(chain));
      cpuShellChain.push(cpuMs(shellChain));
    }
    const extraMs = median(extra);
    const ok = extraMs <= TARGET_EXTRA_MS;
    const cpuPerBuild = (kind) => cpuTotal[kind] / pairs;
    const rows = [
      ['no-op build, isolation: none', median(wall.none)],
      [`no-op build, isolation: overlay (${isolation.launcher} launcher)`, median(wall.overlay)],
      ['no-op build, isolation: overlay (shell launcher)', median(wall['overlay-shell'])],
      [`extra per build, ${isolation.launcher} launcher (median of differences)`, extraMs],
      ['extra per build, shell launcher (median of differences)', median(extraShell)],
      ['CPU per build (buildfleet + children), isolation: none', cpuPerBuild('none')],
      [`CPU per build, overlay (${isolation.launcher} launcher)`, cpuPerBuild('overlay')],
      ['CPU per build, overlay (shell launcher)', cpuPerBuild('overlay-shell')],
      ['context: bare `sh -c :` from Node', median(bareSh)],
      [`context: bare chain around \`/bin/sh -c :\` (${isolation.launcher})`, median(bareChain)],
      ['context: bare chain around `/bin/sh -c :` (shell)', median(bareShellChain)],
      ['context: CPU time of `sh -c :` (user+sys, GNU time)', median(cpuSh)],
      [`context: CPU time of the chain (${isolation.launcher})`, median(cpuChain)],
      ['context: CPU time of the chain (shell)', median(cpuShellChain)],
    ];
    const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
    const header = `${pairs} triples, ${steps} step(s) per build; load average after ${load}; CPUs busy before: ${Number.isFinite(busy) ? `${Math.round(busy * 100)}%` : 'n/a'}; ${os.cpus().length} CPUs, ${os.release()}`;
    const text = [header, ...rows.map(([k, v]) => `${k.padEnd(62)} ${v.toFixed(1).padStart(7)} ms`), `target extra <= ${TARGET_EXTRA_MS} ms: ${ok ? 'PASS' : 'FAIL'}`].join('\n');
    const markdown = ['| measure | median (ms) |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v.toFixed(1)} |`)].join('\n');
    return { rows, extraMs, ok, text, markdown };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2));
  const result = await run(options);
  console.log(result.text);
  console.log(`\n${result.markdown}`);
  if (options.json !== undefined) fs.writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
  process.exit(result.ok ? 0 : 1);
}
