/**
 * kill -9 at any point loses no finished build and corrupts no repo: reconcile is
 * SIGKILLed at seeded random moments; after each kill the repo and the ledger are
 * consistent, and a final run reaches the same repo as an uninterrupted run
 * without building anything twice.
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { testdir, type Files } from '../helpers/testdir.js';
import { configFiles, readIndex, readLedgerLines, recipe, repoFiles, repoProblems, WRITE_ARTIFACT } from '../helpers/reconcile-fixture.js';
import { seededRandom, sleep, startCli, waitFor } from '../helpers/reconcile-process.js';

/** The sequence of kills; a failure message names it. Try others with CRASH_SEED=<n> npx vitest run test/reconcile/crash.test.ts */
const SEED = process.env.CRASH_SEED !== undefined ? Number(process.env.CRASH_SEED) : 20261123;
const KILLS = 7;

/** name, seconds of its build, dependencies: a DAG whose longest chain (r01 r02 r04 r06 r08 r12 r14) takes 2.5 s. */
const GRAPH: readonly (readonly [string, number, readonly string[]])[] = [
  ['r01', 0.3, []],
  ['r02', 0.4, ['r01']],
  ['r03', 0.2, ['r01']],
  ['r04', 0.4, ['r02']],
  ['r05', 0.1, ['r02', 'r03']],
  ['r06', 0.4, ['r04']],
  ['r07', 0.2, ['r05']],
  ['r08', 0.4, ['r06']],
  ['r09', 0.3, ['r06', 'r07']],
  ['r10', 0.1, []],
  ['r11', 0.2, ['r10']],
  ['r12', 0.4, ['r08']],
  ['r13', 0.3, ['r11', 'r09']],
  ['r14', 0.2, ['r12', 'r13']],
  ['r15', 0.1, []],
];

function config(): Files {
  const files: Files = { ...configFiles({ power: 3 }) };
  for (const [name, seconds, depends] of GRAPH) {
    Object.assign(files, recipe(name, { depends, script: `echo "building $BUILDFLEET_PACKAGE"\nsleep ${seconds}\n${WRITE_ARTIFACT}\necho done` }));
  }
  return files;
}

/** What must be equal between two runs: index entries without paths or times, and the repo's files. */
function repoState(repo: string): { entries: string[]; files: string[] } {
  return {
    entries: (readIndex(repo) ?? []).map((e) => `${e.name} ${e.version} ${e.sha256} ${e.fingerprint}`).sort(),
    files: repoFiles(repo),
  };
}

function countBuilt(state: string): number {
  return readLedgerLines(state).records.filter((r) => r.kind === 'build' && r.status === 'built').length;
}

describe('reconcile killed with SIGKILL', () => {
  it(`keeps repo and ledger consistent and loses no finished build (seed ${SEED})`, { timeout: 120_000 }, async () => {
    const reference = testdir(config());
    const dir = testdir(config());
    const repo = path.join(dir, 'repos/main');
    const state = path.join(dir, 'var');

    // The uninterrupted run, on a fresh copy, alongside the killed ones.
    const referenceRun = runCli(['-C', reference, 'reconcile']);

    const random = seededRandom(SEED);
    const outcomes: string[] = [];
    /** 1-based ledger lines that were a torn (unterminated) last line after some kill. */
    const tornLines = new Set<number>();
    for (let kill = 0; kill < KILLS; kill++) {
      const delayMs = Math.round(50 + random() * 1950);
      // Odd kills count the delay from the start of the builds rather than of the process, whose start-up time depends on the machine.
      const from = kill % 2 === 0 ? 'process start' : 'run start';
      const run = await startCli(['-C', dir, 'reconcile']);
      const ended = run.finished.then(() => true);
      if (from === 'run start') await Promise.race([ended, waitFor('the run to start', () => run.stderrSoFar().includes('"run-started"'), 60_000)]);
      const exited = await Promise.race([ended, sleep(delayMs).then(() => false)]);
      if (!exited) run.child.kill('SIGKILL');
      const result = await run.finished;
      const context = `kill ${kill + 1}, ${delayMs} ms after ${from} (seed ${SEED})`;
      if (result.signal === 'SIGKILL') outcomes.push(`killed ${delayMs} ms after ${from} (${countBuilt(state)} built so far)`);
      else {
        expect(result.code, `${context}: the run ended by itself\n${result.stderr}`).toBe(0);
        outcomes.push(`finished within ${delayMs} ms after ${from}`);
      }

      // The repo: index.json parses, every indexed file is there with its sha256 and size.
      expect(repoProblems(repo), context).toEqual([]);
      // The ledger: every complete line parses (but a line torn by an earlier kill); at most the last line is torn.
      const ledger = readLedgerLines(state);
      expect(ledger.unparsable.filter((n) => !tornLines.has(n)), context).toEqual([]);
      if (ledger.tornTail !== null) tornLines.add(ledger.records.length + ledger.unparsable.length + 1);
    }
    // The first run cannot finish within 2 s (its longest chain of builds sleeps 2.5 s), so at least one kill hit a run.
    expect(outcomes.filter((o) => o.startsWith('killed')).length, outcomes.join(', ')).toBeGreaterThan(0);

    const final = await runCli(['-C', dir, 'reconcile']);
    expect(final.code, `${outcomes.join(', ')}\n${final.stderr}`).toBe(0);
    expect(repoProblems(repo)).toEqual([]);
    const nothingLeft = await runCli(['-C', dir, 'plan', '--detailed-exitcode']);
    expect(nothingLeft.code, nothingLeft.stdout).toBe(0);

    const ref = await referenceRun;
    expect(ref.code, ref.stderr).toBe(0);
    expect(repoState(repo)).toEqual(repoState(path.join(reference, 'repos/main')));
    expect(repoState(repo).entries).toHaveLength(GRAPH.length);

    // No finished build was built again: each fingerprint is recorded `built` at most once over all runs.
    const built = new Map<string, number>();
    for (const r of readLedgerLines(state).records) if (r.kind === 'build' && r.status === 'built') built.set(r.fingerprint, (built.get(r.fingerprint) ?? 0) + 1);
    expect([...built.entries()].filter(([, n]) => n > 1), outcomes.join(', ')).toEqual([]);
    // And nothing was built that did not end up published.
    const published = new Set((readIndex(repo) ?? []).map((e) => e.fingerprint));
    expect([...built.keys()].filter((fp) => !published.has(fp))).toEqual([]);
  });
});
