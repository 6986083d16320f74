#!/usr/bin/env node
// Benchmark: the cost of overlay isolation per build (issue 9: <= 50 ms extra per no-op build).
//
//   npm run build && node bench/isolation.js [--pairs 15] [--steps 1] [--no-wait-quiet] [--json FILE]
//
// Builds go through the real LocalTransport (dist/), one at a time, on a busybox root
// (bench/lib/busybox-root.js): a fresh workspace, a step `: > "$BUILDFLEET_OUT/x"`, artifact
// collection, the workspace removed. Each pair runs the same no-op build once with
// `isolation: none` and once with `isolation: overlay` (order alternating between pairs); the
// figure is the median over the pairs of (overlay − none), harness clock around build() +
// release(). Context in the same run: a bare `sh -c :` spawn and the bare isolation chain
// (`unshare … bwrap … /bin/sh -c :`) spawned from Node, wall and CPU time (GNU time: the CPU
// cost is what a busy machine cannot hide), medians over the same count.
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
  const { stepCommand } = await import(path.join(projectRoot, 'dist/execute/isolation.js'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildfleet-bench-isolation-'));
  try {
    const root = makeBusyboxRoot(path.join(dir, 'root'));
    const recipeDir = path.join(dir, 'recipe');
    fs.mkdirSync(recipeDir);
    fs.writeFileSync(path.join(recipeDir, 'recipe.yaml'), 'name: noop\nversion: "1.0"\n');
    const transport = new LocalTransport({
      host: { name: 'local', transport: 'local', power: 1, labels: [], port: 22, workdir: dir, file: 'hosts.yaml', position: { line: 1, col: 1 } },
      stateDir: path.join(dir, 'state'),
      baseEnv: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    const pipeline = (isolation) => ({
      name: isolation,
      file: `pipelines/${isolation}.yaml`,
      steps: Array.from({ length: steps }, (_, i) => ({ name: `s${i}`, run: ': > "$BUILDFLEET_OUT/x"', timeoutSeconds: 60, network: false })),
      artifacts: [],
      isolation,
      limits: {},
      digest: isolation,
    });
    const pipelines = { none: pipeline('none'), overlay: pipeline('overlay') };
    const once = async (isolation) => {
      const started = performance.now();
      const result = await transport.build({
        runId: 'bench', branch: 'main', recipeId: 'noop', packages: ['noop'], version: '1.0-1', fingerprint: 'f',
        recipeDir, pipeline: pipelines[isolation], deps: [], logFile: path.join(dir, 'logs', `${isolation}.log`),
        signal: new AbortController().signal, graceSeconds: 2, keepFailedWorkspace: false, root,
      });
      await result.release();
      const ms = performance.now() - started;
      if (result.status !== 'built') throw new Error(`${isolation} build ${result.status}: ${result.message}\n${result.tail.join('\n')}`);
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
    const chain = stepCommand({ run: ':', isolation: 'overlay', workspace: ws, root, network: false, limits: {} }).command.argv;

    // Warm-up (page cache, first user namespace), untimed.
    await once('none');
    await once('overlay');
    const busy = waitQuiet ? await waitForQuiet() : NaN;
    const none = [];
    const overlay = [];
    const extra = [];
    const bareSh = [];
    const bareChain = [];
    const cpuSh = [];
    const cpuChain = [];
    for (let i = 0; i < pairs; i++) {
      const order = i % 2 === 0 ? ['none', 'overlay'] : ['overlay', 'none'];
      const t = {};
      for (const iso of order) t[iso] = await once(iso);
      none.push(t.none);
      overlay.push(t.overlay);
      extra.push(t.overlay - t.none);
      bareSh.push(spawnMs(['sh', '-c', ':']));
      bareChain.push(spawnMs(chain));
      cpuSh.push(cpuMs(['sh', '-c', ':']));
      cpuChain.push(cpuMs(chain));
    }
    const extraMs = median(extra);
    const ok = extraMs <= TARGET_EXTRA_MS;
    const rows = [
      ['no-op build, isolation: none', median(none)],
      ['no-op build, isolation: overlay', median(overlay)],
      ['extra per build (median of pair differences)', extraMs],
      ['context: bare `sh -c :` from Node', median(bareSh)],
      ['context: bare isolation chain around `/bin/sh -c :`', median(bareChain)],
      ['context: CPU time of `sh -c :` (user+sys, GNU time)', median(cpuSh)],
      ['context: CPU time of the isolation chain (user+sys)', median(cpuChain)],
    ];
    const header = `${pairs} pairs, ${steps} step(s) per build; CPUs busy before: ${Number.isFinite(busy) ? `${Math.round(busy * 100)}%` : 'n/a'}; ${os.cpus().length} CPUs, ${os.release()}`;
    const text = [header, ...rows.map(([k, v]) => `${k.padEnd(52)} ${v.toFixed(1).padStart(7)} ms`), `target extra <= ${TARGET_EXTRA_MS} ms: ${ok ? 'PASS' : 'FAIL'}`].join('\n');
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
