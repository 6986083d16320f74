/**
 * bin/buildfleet.js runs the esbuild bundle of the CLI (dist/bundle/main.cjs, scripts/bundle-cli.mjs)
 * through V8's code cache (bin/load-bundle.js): it must behave exactly as tsc's modules in dist/
 * (BUILDFLEET_UNBUNDLED=1), with the cache, without it, with a stale or a corrupt one; and its
 * worker entry must read recipe trees as the reader does on its own thread.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFormat, readRecipeDirs, type RecipeDirResult, type WorkerInput, type WorkerMessage } from '../../src/sources/recipeTree.js';
import { ESBUILD_INSTALLED, REPO_ROOT, runCli } from '../helpers/cli.js';
import { extractSrcinfoCorpus, type SrcinfoCorpus } from '../helpers/srcinfoCorpus.js';
import { BASE_HOSTS, BASE_PIPELINE, testdir } from '../helpers/testdir.js';

const UNBUNDLED = { BUILDFLEET_UNBUNDLED: '1' };

// Skipped only where node_modules/ predates the esbuild dev dependency (no bundle can be built; `npm ci` fixes it).
describe.skipIf(!ESBUILD_INSTALLED)('the bundled CLI', () => {
  it('prints the same plans, diagnostics and exit codes as the unbundled modules', async () => {
    const broken = testdir({
      'hosts.yaml': BASE_HOSTS,
      'pipelines/shell.yaml': BASE_PIPELINE,
      'branches/main.yaml': 'source:\n  path: recipes\n  format: recipe\npipeline: shell\nrepos:\n  - name: main\n    path: repos/main\n    format: plain\n    bogus: 1\n',
      'recipes/a/recipe.yaml': 'name: a\nversion: "1"\n',
    });
    const cases: string[][] = [
      ['plan', '--format', 'json'],
      ['plan'],
      ['plan', '--format', 'markdown'],
      ['validate'],
      ['-C', broken, 'plan'],
      ['--version'],
      ['plan', '--format', 'yaml'],
    ];
    for (const args of cases) {
      const [bundled, unbundled] = await Promise.all([runCli(args), runCli(args, { env: UNBUNDLED })]);
      expect(bundled, args.join(' ')).toEqual(unbundled);
    }
    // The cases are not all alike: a plan, a located config error, a usage error.
    const [json, configError, usage] = await Promise.all([runCli(cases[0]!), runCli(cases[4]!), runCli(cases[6]!)]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toHaveProperty('formatVersion', 1);
    expect(configError.code).toBe(1);
    expect(configError.stderr).toMatch(/^branches\/main\.yaml:9:5: error: .*bogus/m);
    expect(usage.code).toBe(1);
  });

  it('locates its worker entry next to it', () => {
    const files = readdirSync(path.join(REPO_ROOT, 'dist', 'bundle'));
    expect(files).toContain('main.cjs');
    expect(files).toContain('recipeWorker.js');
    expect(existsSync(path.join(REPO_ROOT, 'dist', 'bundle', 'main.cjs.map'))).toBe(true);
    // Strict, as the ES modules it is made of: the directive opens the file.
    expect(readFileSync(path.join(REPO_ROOT, 'dist', 'bundle', 'main.cjs'), 'utf8')).toMatch(/^'use strict';\n/);
    // ASCII: bin/load-bundle.js reads it as Latin-1. One character above U+00FF (a comment's “quote”) would also make V8 keep the whole source as a two-byte string.
    expect(readFileSync(path.join(REPO_ROOT, 'dist', 'bundle', 'main.cjs'), 'utf8')).not.toMatch(/[\u0080-\uffff]/);
  });

  it('loads node:child_process and node:fs/promises only for a command that uses them: not for a plan of a pacman repo', () => {
    const dir = testdir({
      'hosts.yaml': BASE_HOSTS,
      'pipelines/shell.yaml': BASE_PIPELINE,
      'branches/arch.yaml': 'source:\n  path: pkgs\n  format: srcinfo\narchitecture: x86_64\npipeline: shell\nrepos:\n  - name: repo\n    path: repo\n    format: pacman\n',
      'pkgs/foo/.SRCINFO': 'pkgbase = foo\n\tpkgver = 1.0\n\tpkgrel = 1\n\tarch = any\n\npkgname = foo\n',
    });
    // The modules Node loaded for the command, after what it loads to start.
    const loadedBy = (args: string[]): string[] => {
      const script = `const before = new Set(process.moduleLoadList); process.on('exit', () => require('fs').writeSync(2, '\\nMODULES ' + process.moduleLoadList.filter((m) => !before.has(m)).join(',') + '\\n')); process.argv = [process.execPath, 'buildfleet', ...${JSON.stringify(args)}]; require(${JSON.stringify(path.join(REPO_ROOT, 'bin', 'buildfleet.js'))});`;
      const result = spawnSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8' });
      return /MODULES (.*)/.exec(result.stderr)![1]!.split(',');
    };
    const plan = loadedBy(['plan', '--format', 'json']);
    expect(plan).toContain('NativeModule zlib');
    expect(plan).not.toContain('NativeModule child_process');
    expect(plan).not.toContain('NativeModule fs/promises');
    // A plan that writes its file loads node:fs/promises when it writes.
    expect(loadedBy(['plan', '--out', 'plan.json'])).toContain('NativeModule fs/promises');
  });

  /** What loadBundle() of a copy of bin/load-bundle.js (CommonJS, as bin/package.json says) and dist/bundle/main.cjs (and its cache, after `prepare`) in `dir` made of the cache, in a fresh `node`. */
  function cacheOutcome(dir: string, prepare: (bundleDir: string) => void = () => undefined): string {
    mkdirSync(path.join(dir, 'bin'), { recursive: true });
    mkdirSync(path.join(dir, 'dist', 'bundle'), { recursive: true });
    for (const file of ['load-bundle.js', 'package.json']) copyFileSync(path.join(REPO_ROOT, 'bin', file), path.join(dir, 'bin', file));
    for (const file of ['main.cjs', 'main.cjs.cache']) copyFileSync(path.join(REPO_ROOT, 'dist', 'bundle', file), path.join(dir, 'dist', 'bundle', file));
    writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
    prepare(path.join(dir, 'dist', 'bundle'));
    // The bundle's libraries outside it (execa, tar…) are not loaded by --version: no node_modules/ needed.
    const script = "const { loadBundle } = await import('./bin/load-bundle.js'); const b = loadBundle(); const out = []; const code = await b.exports.main(['node', 'buildfleet', '--version'], { stdout: (t) => out.push(t), stderr: (t) => out.push(t) }); console.log(JSON.stringify({ cache: b.cache, code, out: out.join('') }));";
    return execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' }).trim();
  }

  it('uses the code cache the build trained, and runs alike without it, with a stale one or a corrupt one', async () => {
    const { stdout } = await runCli(['--version']);
    const expected = (cache: string) => JSON.stringify({ cache, code: 0, out: stdout });
    // As built: V8 takes the cache (same Node, same flags).
    expect(cacheOutcome(testdir({}))).toBe(expected('used'));
    // A bundle newer than its cache (rebuilt or edited without training): the cache is not even offered to V8.
    expect(
      cacheOutcome(testdir({}), (dir) => {
        const later = new Date(Date.now() + 60_000);
        utimesSync(path.join(dir, 'main.cjs'), later, later);
      }),
    ).toBe(expected('none'));
    // A corrupt cache newer than the bundle: V8 refuses it and compiles from source.
    expect(
      cacheOutcome(testdir({}), (dir) => {
        writeFileSync(path.join(dir, 'main.cjs.cache'), Buffer.alloc(4096, 7));
      }),
    ).toBe(expected('rejected'));
  });
});

describe.skipIf(!ESBUILD_INSTALLED)('the bundled recipe worker (dist/bundle/recipeWorker.js)', () => {
  let corpus: SrcinfoCorpus;
  beforeAll(() => {
    corpus = extractSrcinfoCorpus();
  });
  afterAll(() => corpus.remove());

  it('reads real .SRCINFO directories exactly as readRecipeDirs does on this thread', async () => {
    // Every 10th directory of the corpus, including the two invalid ones.
    const all = readdirSync(corpus.root).sort();
    const dirNames = all.filter((d, i) => i % 10 === 0 || d === 'stockfish' || d === 'upscayl-ncnn');
    const format = { format: 'srcinfo', architecture: 'x86_64' } as const;
    // The worker claims chunks of 16 directories from the shared counter until none is left (this thread claims none).
    const input: WorkerInput = { root: corpus.root, displayRoot: 'chaotic-aur', format, dirNames, chunkSize: 16, shared: new SharedArrayBuffer(8), index: 0 };
    const chunks: { chunk: number; results: RecipeDirResult[] }[] = [];
    await new Promise<void>((resolve, reject) => {
      const worker = new Worker(path.join(REPO_ROOT, 'dist', 'bundle', 'recipeWorker.js'), { workerData: input });
      worker.on('message', (message: WorkerMessage) => ('done' in message ? resolve() : chunks.push(message)));
      worker.once('error', reject);
      worker.once('exit', (code) => {
        if (code !== 0) reject(new Error(`worker exited with code ${code}`));
      });
    });
    expect(chunks.map((c) => c.chunk)).toEqual(Array.from({ length: Math.ceil(dirNames.length / 16) }, (_, i) => i));
    const fromWorker = chunks.flatMap((c) => c.results);
    const here = readRecipeDirs(input, await loadFormat(format), dirNames);
    expect(fromWorker.length).toBe(dirNames.length);
    expect(fromWorker.filter((r) => r !== null && 'diagnostics' in r).map((r) => r?.id)).toEqual(['stockfish', 'upscayl-ncnn']);
    expect(fromWorker).toEqual(here);
  });
});
