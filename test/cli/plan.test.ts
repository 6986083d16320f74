import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { LedgerRecord } from '../../src/observe/ledger.js';
import type { BuildAction, Plan, SavedPlan } from '../../src/plan/types.js';
import { planBranches } from '../../src/run/planBranches.js';
import { runCli, scrub, type CliResult } from '../helpers/cli.js';
import { BASE_BRANCH, baseConfig, copyExample, recipeFiles, snapshotTree, testdir, writeFiles } from '../helpers/testdir.js';

const HEX64 = /^[0-9a-f]{64}$/;
const EXAMPLE_REPO = 'var/repos/example';

function parsePlan(result: CliResult): Plan {
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as Plan;
}

function builds(plan: Plan): BuildAction[] {
  return plan.branches.flatMap((b) => b.actions.filter((a): a is BuildAction => a.type === 'build'));
}

/** `package reason[: detail]` of every action of the first branch. */
function summary(plan: Plan): string[] {
  return plan.branches[0]!.actions.map((a) => `${a.type} ${a.package} ${a.reason}${a.type !== 'remove' && a.detail !== undefined ? `: ${a.detail}` : ''}`);
}

/**
 * Publishes every package the current plan of `dir` would build, as a finished
 * reconcile leaves it: an index.json entry at the planned fingerprint in the
 * repo, and (unless `ledger: false`) a `built` ledger record with the
 * fingerprint's inputs in `stateDir`.
 */
async function publishEverything(dir: string, stateDir: string, options: { ledger?: boolean; extraEntries?: object[] } = {}): Promise<BuildAction[]> {
  const loaded = loadConfig(dir);
  expect(loaded.diagnostics).toEqual([]);
  const outcome = await planBranches({ config: loaded.config!, stateDir });
  const branch = outcome.branches[0]!;
  const built = branch.plan.actions.filter((a): a is BuildAction => a.type === 'build');
  const entries = built.map((b) => ({ name: b.package, version: b.version, file: `${b.package}-${b.version}.tar.gz`, sha256: 'a'.repeat(64), size: 100, depends: [], provides: [], fingerprint: b.fingerprint }));
  writeFiles(dir, { [`${EXAMPLE_REPO}/index.json`]: `${JSON.stringify({ formatVersion: 1, packages: [...entries, ...(options.extraEntries ?? [])] }, null, 2)}\n` });
  if (options.ledger !== false) {
    const records: LedgerRecord[] = built.map((b) => ({
      formatVersion: 1,
      kind: 'build',
      at: '2026-01-01T00:00:00.000Z',
      runId: 'run-1',
      branch: branch.config.name,
      recipe: b.package,
      packages: b.packages,
      version: b.version,
      fingerprint: b.fingerprint,
      status: 'built',
      host: 'local',
      seconds: 30,
      inputs: branch.fingerprints.get(b.package as never)!.inputs,
    }));
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(path.join(stateDir, 'ledger.jsonl'), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
  return built;
}

function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
}

describe('buildfleet plan on the bundled example (empty state)', () => {
  it('prints 8 builds in dependency order, motif a dud blocking 1, xdemo dependency-skipped', async () => {
    const dir = copyExample();
    const result = await runCli(['-C', dir, 'plan']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      [
        'branch example: 8 to build, 0 to remove, 2 skipped, 0 up to date',
        '  + build libc 2.40-1 -> main  (new)',
        '  + build docgen 0.4.0-1 -> main  (new)',
        '  + build mawk 1.3.4-1 -> main  (new)',
        '  + build zlib 1.3.1-2 -> main  (new)',
        '  + build manual 2024.10-1 -> main  (new)',
        '  + build report-gen 2.0-1 -> main  (new)',
        '  + build libpng 1.6.44-1 -> main  (new)',
        '  + build imagetool 1.10-1 -> main  (new)',
        '  ! skip  motif 2.3.8-1  (dud: needs Motif licence; blocks 1 package)',
        '  ! skip  xdemo 0.9-1  (dependency-skipped: motif)',
        '  estimate: 5m 0s (lower bound 4m 0s)',
        '',
        'Plan: 8 to build, 0 to remove, 2 skipped, 0 up to date.',
        '',
      ].join('\n'),
    );
    expect(result.code).toBe(0);
  });

  it('prints the JSON plan document of DESIGN.md', async () => {
    const dir = copyExample();
    const plan = parsePlan(await runCli(['-C', dir, 'plan', '--format', 'json']));
    expect(plan.formatVersion).toBe(1);
    expect(plan.branches).toHaveLength(1);
    const branch = plan.branches[0]!;
    expect(Object.keys(branch).sort()).toEqual(['actions', 'estimate', 'name', 'upToDate']);
    expect(branch).toMatchObject({ name: 'example', upToDate: 0, estimate: { makespanSeconds: 300, lowerBoundSeconds: 240 } });
    const byPackage = new Map(branch.actions.map((a) => [a.package, a]));
    // provides: report-gen depends on "awk", which mawk provides
    expect(byPackage.get('report-gen')).toEqual({
      type: 'build',
      package: 'report-gen',
      packages: ['report-gen'],
      version: '2.0-1',
      repo: 'main',
      reason: 'new',
      dependsOn: ['mawk'],
      fingerprint: expect.stringMatching(HEX64) as unknown,
    });
    // versions stay the text that was written ("1.10", not 1.1)
    expect(byPackage.get('imagetool')).toMatchObject({ version: '1.10-1', dependsOn: ['libpng'] });
    expect(byPackage.get('manual')).toMatchObject({ version: '2024.10-1', dependsOn: ['docgen'] });
    expect(byPackage.get('libc')).toMatchObject({ dependsOn: [] });
    expect(byPackage.get('motif')).toEqual({ type: 'skip', package: 'motif', version: '2.3.8-1', reason: 'dud', detail: 'needs Motif licence', blocks: 1 });
    expect(byPackage.get('xdemo')).toEqual({ type: 'skip', package: 'xdemo', version: '0.9-1', reason: 'dependency-skipped', detail: 'motif', blocks: 0 });
    expect(builds(plan).map((b) => b.package)).toEqual(['libc', 'docgen', 'mawk', 'zlib', 'manual', 'report-gen', 'libpng', 'imagetool']);
    expect(new Set(builds(plan).map((b) => b.fingerprint)).size).toBe(8);
  });

  it('prints the Markdown report', async () => {
    const result = await runCli(['-C', copyExample(), 'plan', '--format', 'markdown']);
    expect(result.stdout).toBe(
      [
        '### buildfleet plan',
        '',
        '**Plan:** 8 to build, 0 to remove, 2 skipped, 0 up to date.',
        '',
        '| branch | build | remove | skipped | up to date | estimate |',
        '|---|---:|---:|---:|---:|---:|',
        '| example | 8 | 0 | 2 | 0 | 5m 0s |',
        '',
        '<details><summary><b>example</b>: 8 to build, 0 to remove, 2 skipped, 0 up to date</summary>',
        '',
        '| | action | package | version | repo | reason | detail |',
        '|---|---|---|---|---|---|---|',
        '| `+` | build | libc | 2.40-1 | main | new |  |',
        '| `+` | build | docgen | 0.4.0-1 | main | new |  |',
        '| `+` | build | mawk | 1.3.4-1 | main | new |  |',
        '| `+` | build | zlib | 1.3.1-2 | main | new |  |',
        '| `+` | build | manual | 2024.10-1 | main | new |  |',
        '| `+` | build | report-gen | 2.0-1 | main | new |  |',
        '| `+` | build | libpng | 1.6.44-1 | main | new |  |',
        '| `+` | build | imagetool | 1.10-1 | main | new |  |',
        '| `!` | skip | motif | 2.3.8-1 |  | dud | needs Motif licence; blocks 1 |',
        '| `!` | skip | xdemo | 0.9-1 |  | dependency-skipped | motif |',
        '',
        '</details>',
        '',
      ].join('\n'),
    );
    expect(result.code).toBe(0);
  });

  it('exits 2 with --detailed-exitcode when a state dir elsewhere does not exist yet (empty state), and creates nothing', async () => {
    const dir = copyExample();
    const state = path.join(testdir({}), 'state');
    const result = await runCli(['-C', dir, '--state-dir', state, 'plan', '--detailed-exitcode']);
    expect(result.stdout).toContain('Plan: 8 to build, 0 to remove, 2 skipped, 0 up to date.\n');
    expect(result.code).toBe(2);
    expect(existsSync(state)).toBe(false);
    expect(existsSync(path.join(dir, 'var'))).toBe(false);
  });
});

describe('buildfleet plan --out', () => {
  it('saves the plan with kind, formatVersion, createdAt and the state digests, and still prints it', async () => {
    const dir = copyExample();
    const out = path.join(testdir({}), 'plan.json');
    const before = Date.now();
    const result = await runCli(['-C', dir, 'plan', '--format', 'json', '--out', out]);
    expect(result.code).toBe(0);
    const printed = parsePlan(result);
    const saved = JSON.parse(readFileSync(out, 'utf8')) as SavedPlan;
    expect(Object.keys(saved).sort()).toEqual(['branches', 'createdAt', 'formatVersion', 'kind', 'options', 'stateDigest']);
    expect(saved.kind).toBe('buildfleet-plan');
    expect(saved.formatVersion).toBe(1);
    expect(saved.branches).toEqual(printed.branches);
    expect(saved.stateDigest).toEqual({ desired: expect.stringMatching(HEX64) as unknown, observed: expect.stringMatching(HEX64) as unknown });
    expect(saved.options).toEqual({ retryFailed: false });
    expect(Date.parse(saved.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(saved.createdAt).toBe(new Date(Date.parse(saved.createdAt)).toISOString());
  });

  it('digests the desired state and the observed state separately', async () => {
    const dir = copyExample();
    const outDir = testdir({});
    const saveAs = async (name: string): Promise<SavedPlan> => {
      const file = path.join(outDir, name);
      expect((await runCli(['-C', dir, 'plan', '--out', file])).code).toBe(0);
      return JSON.parse(readFileSync(file, 'utf8')) as SavedPlan;
    };
    const first = await saveAs('1.json');
    const again = await saveAs('2.json');
    expect(again.stateDigest).toEqual(first.stateDigest);

    await publishEverything(dir, path.join(dir, 'var'));
    const published = await saveAs('3.json');
    expect(published.stateDigest.desired).toBe(first.stateDigest.desired);
    expect(published.stateDigest.observed).not.toBe(first.stateDigest.observed);

    edit(path.join(dir, 'example/recipes/zlib/build.sh'), 'sleep 0.6', 'sleep 0.7');
    const edited = await saveAs('4.json');
    expect(edited.stateDigest.desired).not.toBe(published.stateDigest.desired);
    expect(edited.stateDigest.observed).toBe(published.stateDigest.observed);
  });

  it('exits 1 with a located message when the file cannot be written', async () => {
    const dir = copyExample();
    const result = await runCli(['-C', dir, 'plan', '--out', path.join(dir, 'no/such/dir/plan.json')]);
    expect(scrub(result.stderr, { [dir]: '<config>' })).toBe('<config>/no/such/dir/plan.json: error: cannot write the plan (ENOENT)\n  hint: check that the directory exists and is writable\n');
    expect(result.code).toBe(1);
  });
});

describe('buildfleet plan against observed state', () => {
  it('exits 0 with --detailed-exitcode once every package is published at its planned fingerprint (skips are not changes)', async () => {
    const dir = copyExample();
    await publishEverything(dir, path.join(dir, 'var'));
    const result = await runCli(['-C', dir, 'plan', '--detailed-exitcode']);
    expect(result.stdout).toBe(
      [
        'branch example: 0 to build, 0 to remove, 2 skipped, 8 up to date',
        '  ! skip  motif 2.3.8-1  (dud: needs Motif licence; blocks 1 package)',
        '  ! skip  xdemo 0.9-1  (dependency-skipped: motif)',
        '',
        'No changes. 0 to build, 0 to remove, 2 skipped, 8 up to date.',
        '',
      ].join('\n'),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('a version bump: version-changed "old -> new", dependents dependency-changed naming their dependency', async () => {
    const dir = copyExample();
    await publishEverything(dir, path.join(dir, 'var'));
    edit(path.join(dir, 'example/recipes/zlib/recipe.yaml'), 'version: 1.3.1 ', 'version: 1.3.2 ');
    const result = await runCli(['-C', dir, 'plan', '--format', 'json', '--detailed-exitcode']);
    expect(result.code).toBe(2);
    const plan = parsePlan(result);
    expect(summary(plan)).toEqual([
      'build zlib version-changed: 1.3.1-2 -> 1.3.2-2',
      'build libpng dependency-changed: zlib',
      'build imagetool dependency-changed: libpng (from zlib version-changed 1.3.1-2 -> 1.3.2-2)',
      'skip motif dud: needs Motif licence',
      'skip xdemo dependency-skipped: motif',
    ]);
    expect(plan.branches[0]!.upToDate).toBe(5);
    expect(builds(plan).map((b) => b.dependsOn)).toEqual([[], ['zlib'], ['libpng']]);
    // the ledger's durations (30 s each) make the estimate: a chain of three
    expect(plan.branches[0]!.estimate).toEqual({ makespanSeconds: 90, lowerBoundSeconds: 90 });
  });

  it("an edited build.sh of zlib: zlib inputs-changed naming build.sh, libpng dependency-changed naming zlib", async () => {
    const dir = copyExample();
    await publishEverything(dir, path.join(dir, 'var'));
    appendFileSync(path.join(dir, 'example/recipes/zlib/build.sh'), '# a comment changes the build script too\n');
    const result = await runCli(['-C', dir, 'plan']);
    expect(result.stdout).toBe(
      [
        'branch example: 3 to build, 0 to remove, 2 skipped, 5 up to date',
        '  ~ build zlib 1.3.1-2 -> main  (inputs-changed: build.sh)',
        '  ~ build libpng 1.6.44-1 -> main  (dependency-changed: zlib)',
        '  ~ build imagetool 1.10-1 -> main  (dependency-changed: libpng (from zlib inputs-changed build.sh))',
        '  ! skip  motif 2.3.8-1  (dud: needs Motif licence; blocks 1 package)',
        '  ! skip  xdemo 0.9-1  (dependency-skipped: motif)',
        '  estimate: 1m 30s (lower bound 1m 30s)',
        '',
        'Plan: 3 to build, 0 to remove, 2 skipped, 5 up to date.',
        '',
      ].join('\n'),
    );
    const plan = parsePlan(await runCli(['-C', dir, 'plan', '--format', 'json']));
    expect(builds(plan).map((b) => [b.package, b.changes])).toEqual([
      ['zlib', [{ kind: 'recipe-file', name: 'build.sh', detail: 'changed' }]],
      ['libpng', [{ kind: 'dependency', name: 'zlib', detail: 'changed' }]],
      ['imagetool', [{ kind: 'dependency', name: 'libpng', detail: 'changed' }]],
    ]);
  });

  it('a changed pipeline rebuilds everything as pipeline-changed; a changed timeout does not', async () => {
    const dir = copyExample();
    await publishEverything(dir, path.join(dir, 'var'));
    edit(path.join(dir, 'pipelines/shell.yaml'), 'timeout: 10m', 'timeout: 20m');
    expect((await runCli(['-C', dir, 'plan', '--detailed-exitcode'])).code).toBe(0);
    edit(path.join(dir, 'pipelines/shell.yaml'), 'exec ./build.sh', 'exec sh ./build.sh');
    const plan = parsePlan(await runCli(['-C', dir, 'plan', '--format', 'json']));
    expect(builds(plan).map((b) => `${b.package} ${b.reason}`)).toEqual(['libc', 'docgen', 'mawk', 'zlib', 'manual', 'report-gen', 'libpng', 'imagetool'].map((p) => `${p} pipeline-changed`));
  });

  it('without the ledger, says the published fingerprint differs for packages whose version did not change', async () => {
    const dir = copyExample();
    await publishEverything(dir, path.join(dir, 'var'), { ledger: false });
    edit(path.join(dir, 'example/recipes/zlib/recipe.yaml'), 'version: 1.3.1 ', 'version: 1.3.2 ');
    const plan = parsePlan(await runCli(['-C', dir, 'plan', '--format', 'json']));
    const why = 'the published fingerprint differs, and the inputs it was built from are not in the ledger';
    expect(summary(plan).slice(0, 3)).toEqual(['build zlib version-changed: 1.3.1-2 -> 1.3.2-2', `build libpng inputs-changed: ${why}`, `build imagetool inputs-changed: ${why}`]);
  });

  it('removes a published package whose recipe is gone (prune: true), which is a change', async () => {
    const dir = copyExample();
    await publishEverything(dir, path.join(dir, 'var'), { extraEntries: [{ name: 'oldtool', version: '0.1-1', file: 'oldtool-0.1-1.tar.gz', sha256: 'b'.repeat(64), size: 1, depends: [], provides: [], fingerprint: 'c'.repeat(64) }] });
    const result = await runCli(['-C', dir, 'plan', '--detailed-exitcode']);
    expect(result.stdout).toContain('\n  - remove oldtool 0.1-1 from main  (not-in-source)\n');
    expect(result.stdout).toContain('Plan: 0 to build, 1 to remove, 2 skipped, 8 up to date.\n');
    expect(result.code).toBe(2);
  });

  it('skips a build that failed with the same inputs (and its dependents) until --retry-failed', async () => {
    const dir = copyExample();
    const stateDir = testdir({});
    const loaded = loadConfig(dir);
    const planned = (await planBranches({ config: loaded.config!, stateDir })).plan!;
    const target = builds(planned).find((b) => b.package === 'zlib')!;
    const failed: LedgerRecord = { formatVersion: 1, kind: 'build', at: '2026-03-04T05:06:07.000Z', runId: 'run-1', branch: 'example', recipe: 'zlib', packages: ['zlib'], version: target.version, fingerprint: target.fingerprint, status: 'failed', host: 'local', seconds: 3, phase: 'build' };
    writeFileSync(path.join(stateDir, 'ledger.jsonl'), `${JSON.stringify(failed)}\n`);

    const skipped = parsePlan(await runCli(['-C', dir, '--state-dir', stateDir, 'plan', '--format', 'json']));
    expect(summary(skipped).filter((s) => /zlib|libpng|imagetool/.test(s))).toEqual([
      'skip imagetool dependency-failed: libpng',
      'skip libpng dependency-failed: zlib',
      'skip zlib failed-unchanged: failed in step build at 2026-03-04T05:06:07.000Z; unchanged since (use --retry-failed to try again)',
    ]);
    expect(skipped.branches[0]!.actions.find((a) => a.package === 'zlib')).toMatchObject({ blocks: 2 });

    const retried = parsePlan(await runCli(['-C', dir, '--state-dir', stateDir, 'plan', '--format', 'json', '--retry-failed']));
    expect(summary(retried).filter((s) => /zlib|libpng|imagetool/.test(s))).toEqual(['build zlib retry: failed last time; retrying as asked (--retry-failed)', 'build libpng new', 'build imagetool new']);
  });
});

describe('buildfleet plan: one broken recipe never stops the rest of the branch', () => {
  it('skips a recipe whose name disagrees with its directory as invalid-recipe, and its dependents', async () => {
    const dir = testdir({ ...baseConfig(), 'recipes/zlib/recipe.yaml': 'name: zlb\nversion: "1.3.1"\ndepends: [libc]\n' });
    const result = await runCli(['-C', dir, 'plan', '--detailed-exitcode']);
    expect(result.stderr).toBe('recipes/zlib/recipe.yaml:1:7: error: recipe name "zlb" does not match its directory "zlib"\n  hint: rename the directory to "zlb" or set name: zlib\n');
    expect(result.stdout).toBe(
      [
        'branch main: 1 to build, 0 to remove, 2 skipped, 0 up to date',
        '  + build libc 2.40-1 -> main  (new)',
        '  ! skip  app 1.0-1  (dependency-skipped: zlib)',
        '  ! skip  zlib  (invalid-recipe: recipe name "zlb" does not match its directory "zlib"; blocks 1 package)',
        '  estimate: 1m 0s (lower bound 1m 0s)',
        '',
        'Plan: 1 to build, 0 to remove, 2 skipped, 0 up to date.',
        '',
      ].join('\n'),
    );
    expect(result.code).toBe(2);
  });

  it('skips every package of a dependency cycle as dependency-cycle, naming the cycle', async () => {
    const dir = testdir({ ...baseConfig(), ...recipeFiles('libc', { version: '2.40', depends: ['app'] }), ...recipeFiles('tool', { version: '3' }) });
    const result = await runCli(['-C', dir, 'plan']);
    expect(result.stderr).toBe(
      'recipes/app/recipe.yaml:3:11: error: dependency cycle: app -> zlib -> libc -> app\n  hint: break the cycle in one of: recipes/app/recipe.yaml, recipes/libc/recipe.yaml, recipes/zlib/recipe.yaml\n',
    );
    expect(result.stdout).toBe(
      [
        'branch main: 1 to build, 0 to remove, 3 skipped, 0 up to date',
        '  + build tool 3-1 -> main  (new)',
        '  ! skip  app 1.0-1  (dependency-cycle: app -> zlib -> libc -> app; blocks 2 packages)',
        '  ! skip  libc 2.40-1  (dependency-cycle: app -> zlib -> libc -> app; blocks 2 packages)',
        '  ! skip  zlib 1.3.1-1  (dependency-cycle: app -> zlib -> libc -> app; blocks 2 packages)',
        '  estimate: 1m 0s (lower bound 1m 0s)',
        '',
        'Plan: 1 to build, 0 to remove, 3 skipped, 0 up to date.',
        '',
      ].join('\n'),
    );
    expect(result.code).toBe(0);
  });

  it('skips a package whose dependency nothing provides as unresolvable, naming the name, and what depends on it', async () => {
    const dir = testdir({ ...baseConfig(), ...recipeFiles('zlib', { version: '1.3.1', depends: ['libc', 'libfoo>=2'] }) });
    const result = await runCli(['-C', dir, 'plan', '--format', 'json']);
    expect(result.stderr).toBe('recipes/zlib/recipe.yaml:3:17: warning: zlib depends on libfoo, which no recipe provides; it will be skipped\n  hint: add a recipe that provides it, or fix the dependency name\n');
    const plan = JSON.parse(result.stdout) as Plan;
    expect(summary(plan)).toEqual(['build libc new', 'skip app dependency-skipped: zlib', 'skip zlib unresolvable: nothing provides libfoo']);
  });

  it('keeps an unquoted version such as 1.10 as the text "1.10"', async () => {
    const dir = testdir({ ...baseConfig(), 'recipes/libc/recipe.yaml': 'name: libc\nversion: 1.10\nrelease: 1.0\n' });
    const plan = parsePlan(await runCli(['-C', dir, 'plan', '--format', 'json']));
    expect(plan.branches[0]!.actions[0]).toMatchObject({ package: 'libc', version: '1.10-1.0' });
  });
});

describe('buildfleet plan: errors', () => {
  it('exits 1 on a config error and prints no plan', async () => {
    const dir = testdir({ ...baseConfig(), 'branches/main.yaml': BASE_BRANCH.replace('pipeline: shell', 'pipeline: shel') });
    const result = await runCli(['-C', dir, 'plan', '--detailed-exitcode']);
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'branches/main.yaml:4:11: error: pipeline "shel" does not exist (no pipelines/shel.yaml)\n  hint: did you mean "shell"?\n' });
  });

  it('exits 1 on an unknown --branch', async () => {
    const dir = testdir(baseConfig());
    const result = await runCli(['-C', dir, 'plan', '--branch', 'mian']);
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'branches/mian.yaml: error: no branch named "mian"\n  hint: use one of: main\n' });
  });

  it('exits 1 on a repository index it cannot trust (it could prune or rebuild everything)', async () => {
    const dir = testdir({ ...baseConfig(), 'repos/main/index.json': '{ "formatVersion": 2, "packages": [] }\n' });
    const result = await runCli(['-C', dir, 'plan', '--detailed-exitcode']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'repos/main/index.json: error: the repository index is not a formatVersion 1 buildfleet index\n  hint: restore the index from a backup, or move the repository aside so that buildfleet starts it afresh\n',
    });
  });
});

describe('a plan writes nothing', () => {
  it('leaves the config and state directories byte-for-byte unchanged', async () => {
    const dir = copyExample();
    await publishEverything(dir, path.join(dir, 'var'), { extraEntries: [{ name: 'oldtool', version: '0.1-1', file: 'oldtool-0.1-1.tar.gz', sha256: 'b'.repeat(64), size: 1, depends: [], provides: [], fingerprint: 'c'.repeat(64) }] });
    writeFiles(dir, { [`${EXAMPLE_REPO}/oldtool-0.1-1.tar.gz`]: 'artifact', 'var/logs/example/zlib.log': 'old log\n' });
    // a torn last line, as a crash mid-append leaves it: reported, not repaired
    appendFileSync(path.join(dir, 'var/ledger.jsonl'), '{"formatVersion":1,"kind":"bui');
    appendFileSync(path.join(dir, 'example/recipes/zlib/build.sh'), '# changed\n');
    const outsideState = path.join(testdir({}), 'elsewhere');

    const before = snapshotTree(dir);
    const torn = 'var/ledger.jsonl:9:1: warning: the last ledger line is incomplete (a run was cut off while writing it); it is ignored\n  hint: nothing to do: the next run rewrites what it needs\n';
    for (const args of [['plan'], ['plan', '--branch', 'example', '--format', 'json', '--detailed-exitcode', '--retry-failed']]) {
      const result = await runCli(['-C', dir, ...args]);
      expect(result.stderr).toBe(torn);
      expect(result.code).toBe(args.includes('--detailed-exitcode') ? 2 : 0);
    }
    expect((await runCli(['validate'], { cwd: dir })).code).toBe(0);
    expect((await runCli(['-C', dir, '--state-dir', outsideState, 'plan'])).code).toBe(0);
    expect(snapshotTree(dir)).toEqual(before);
    expect(existsSync(outsideState)).toBe(false);
    // the snapshot sees what matters: it holds the ledger, the repo and the recipes
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['var/ledger.jsonl', `${EXAMPLE_REPO}/index.json`, `${EXAMPLE_REPO}/oldtool-0.1-1.tar.gz`, 'example/recipes/zlib/build.sh', 'hosts.yaml']));
  });
});

describe('snapshotTree (the write-nothing check) sees every kind of write', () => {
  it.each([
    ['a rewritten file with the same size', (dir: string) => writeFileSync(path.join(dir, 'a'), 'B')],
    ['a new empty file', (dir: string) => writeFileSync(path.join(dir, 'sub/new'), '')],
    ['a new empty directory', (dir: string) => mkdirSync(path.join(dir, 'sub/empty'))],
    // content and size unchanged: only the modification time tells (set explicitly: no sleeping past the mtime granularity)
    ['a file touched', (dir: string) => utimesSync(path.join(dir, 'sub/b'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'))],
    ['a file made executable', (dir: string) => chmodSync(path.join(dir, 'a'), 0o755)],
  ])('%s', (_name, write) => {
    const dir = testdir({ a: 'A', 'sub/b': 'b' });
    const before = snapshotTree(dir);
    write(dir);
    expect(snapshotTree(dir)).not.toEqual(before);
  });
});
