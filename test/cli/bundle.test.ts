/**
 * bin/buildfleet.js runs the esbuild bundle of the CLI (dist/bundle/, scripts/bundle-cli.mjs):
 * it must behave exactly as tsc's modules in dist/ (BUILDFLEET_UNBUNDLED=1), and its worker
 * entry must read recipe trees as the reader does on its own thread.
 */
import { existsSync, readdirSync } from 'node:fs';
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

  it('locates its worker entry next to its chunks', () => {
    const files = readdirSync(path.join(REPO_ROOT, 'dist', 'bundle'));
    expect(files).toContain('main.js');
    expect(files).toContain('recipeWorker.js');
    expect(existsSync(path.join(REPO_ROOT, 'dist', 'bundle', 'main.js.map'))).toBe(true);
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
