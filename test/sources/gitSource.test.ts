import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { BuildAction, Plan } from '../../src/plan/types.js';
import { planBranches } from '../../src/run/planBranches.js';
import { gitCacheDir } from '../../src/sources/gitSource.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { commitAll, git, initRepo } from '../helpers/gitRepo.js';
import { configFiles, recipe } from '../helpers/reconcile-fixture.js';
import { snapshotTree, testdir, writeFiles } from '../helpers/testdir.js';

/** branches/main.yaml reading recipes/ of the config repository itself at `ref`. */
function gitBranch(source: string, extra = ''): string {
  return `source:\n  ${source}\n  format: recipe\npipeline: shell\nhosts: { labels: [x86_64] }\nrepos:\n  - name: main\n    path: repos/main\n    format: plain\n    prune: true\n${extra}`;
}

/** A config repository (committed) whose branch reads its own recipes/ at `main`: libc <- zlib <- app. */
function gitConfigRepo(): { dir: string; first: string } {
  const dir = testdir({
    ...configFiles(),
    'branches/main.yaml': gitBranch('git: .\n  ref: main\n  subdir: recipes'),
    ...recipe('libc'),
    ...recipe('zlib', { depends: ['libc'] }),
    ...recipe('app', { depends: ['zlib'] }),
  });
  initRepo(dir);
  return { dir, first: commitAll(dir, 'first') };
}

function parsePlan(result: CliResult): Plan {
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as Plan;
}

function builds(plan: Plan): BuildAction[] {
  return plan.branches.flatMap((b) => b.actions.filter((a): a is BuildAction => a.type === 'build'));
}

describe('git sources', () => {
  it('plans the recipes at the ref, shows the commit, and ignores changes not committed', async () => {
    const { dir, first } = gitConfigRepo();
    writeFiles(dir, recipe('extra'));
    const plan = parsePlan(await runCli(['-C', dir, 'plan', '--format', 'json']));
    expect(plan.branches[0]!.sourceCommit).toBe(first);
    expect(builds(plan).map((b) => b.package)).toEqual(['libc', 'zlib', 'app']);
    const text = await runCli(['-C', dir, 'plan']);
    expect(text.stdout).toContain(`branch main (source ${first.slice(0, 12)}): 3 to build`);
  });

  it('gives the same fingerprints as a path source with the same content, from a fresh cache and from remembered tree digests', async () => {
    const { dir } = gitConfigRepo();
    const viaGit = builds(parsePlan(await runCli(['-C', dir, 'plan', '--format', 'json'])));
    const again = builds(parsePlan(await runCli(['-C', dir, 'plan', '--format', 'json'])));
    writeFiles(dir, { 'branches/main.yaml': gitBranch('path: recipes') });
    const viaPath = builds(parsePlan(await runCli(['-C', dir, 'plan', '--format', 'json'])));
    expect(viaGit.map((b) => b.fingerprint)).toEqual(viaPath.map((b) => b.fingerprint));
    expect(again.map((b) => b.fingerprint)).toEqual(viaPath.map((b) => b.fingerprint));
  });

  it('hashes again only the recipe directories whose git tree changed', async () => {
    const { dir } = gitConfigRepo();
    const stateDir = path.join(dir, 'var');
    await runCli(['-C', dir, 'plan']);
    // Poison the remembered digests: a directory whose tree is unchanged keeps the poisoned digest (it was not hashed again).
    const digestsFile = path.join(gitCacheDir(stateDir, dir), 'digests.json');
    const digests = JSON.parse(readFileSync(digestsFile, 'utf8')) as { trees: Record<string, Record<string, string>> };
    const libcTree = git(dir, 'rev-parse', 'HEAD:recipes/libc');
    const appTree = git(dir, 'rev-parse', 'HEAD:recipes/app');
    digests.trees[libcTree]!['build.sh'] = 'poisoned';
    digests.trees[appTree]!['build.sh'] = 'poisoned';
    writeFileSync(digestsFile, JSON.stringify(digests));
    writeFiles(dir, { 'recipes/app/build.sh': { mode: 0o755, content: '#!/bin/sh\necho changed\n' } });
    commitAll(dir, 'app changed');
    const loaded = loadConfig(dir);
    const outcome = await planBranches({ config: loaded.config!, stateDir });
    expect(outcome.diagnostics).toEqual([]);
    const files = (id: string): Readonly<Record<string, string>> => outcome.branches[0]!.graph.recipes.get(id as never)!.files;
    expect(files('libc')['build.sh']).toBe('poisoned');
    expect(files('app')['build.sh']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads a tag, a commit and a subdir of another repository given by a relative path', async () => {
    const upstream = testdir({ 'pkgs/recipes/libc/recipe.yaml': 'name: libc\nversion: "1.0"\n', 'pkgs/recipes/libc/build.sh': 'true\n' });
    initRepo(upstream);
    const v1 = commitAll(upstream, 'v1');
    git(upstream, 'tag', 'v1');
    writeFiles(upstream, { 'pkgs/recipes/libc/recipe.yaml': 'name: libc\nversion: "2.0"\n' });
    const v2 = commitAll(upstream, 'v2');
    const config = testdir({ ...configFiles() });
    const relative = path.relative(config, upstream);
    for (const [ref, commit, version] of [['v1', v1, '1.0-1'], [v2, v2, '2.0-1'], ['main', v2, '2.0-1']] as const) {
      writeFiles(config, { 'branches/main.yaml': gitBranch(`git: ${relative}\n  ref: ${ref}\n  subdir: pkgs/recipes/`) });
      const plan = parsePlan(await runCli(['-C', config, 'plan', '--format', 'json']));
      expect(plan.branches[0]!.sourceCommit).toBe(commit);
      expect(builds(plan).map((b) => `${b.package} ${b.version}`)).toEqual([`libc ${version}`]);
    }
  });

  it('plan writes nothing to the config repository (its .git included) and, in the state directory, only to the git cache', async () => {
    const { dir } = gitConfigRepo();
    const stateDir = path.join(dir, 'var');
    await runCli(['-C', dir, 'reconcile']);
    writeFiles(dir, recipe('extra'));
    commitAll(dir, 'extra');
    const config = snapshotTree(dir);
    const state = Object.fromEntries(Object.entries(snapshotTree(stateDir)).filter(([p]) => p !== 'git' && !p.startsWith('git/')));
    const result = await runCli(['-C', dir, 'plan', '--detailed-exitcode']);
    expect(result.code).toBe(2);
    const after = snapshotTree(dir);
    expect(Object.fromEntries(Object.entries(after).filter(([p]) => p !== 'var' && !p.startsWith('var/')))).toEqual(
      Object.fromEntries(Object.entries(config).filter(([p]) => p !== 'var' && !p.startsWith('var/'))),
    );
    expect(Object.fromEntries(Object.entries(snapshotTree(stateDir)).filter(([p]) => p !== 'git' && !p.startsWith('git/')))).toEqual(state);
  });

  it('records the source commit with each build, and the plan shows the commits since the last build', async () => {
    const { dir, first } = gitConfigRepo();
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.code).toBe(0);
    const records = readFileSync(path.join(dir, 'var/ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => [r.recipe, r.sourceCommit, r.configCommit])).toEqual([['libc', first, first], ['zlib', first, first], ['app', first, first]]);
    expect((JSON.parse(run.stdout) as { config: unknown }).config).toEqual({ commit: first, dirty: false });
    writeFiles(dir, recipe('zlib', { version: '1.1', depends: ['libc'] }));
    const second = commitAll(dir, 'zlib 1.1');
    const plan = parsePlan(await runCli(['-C', dir, 'plan', '--format', 'json']));
    expect(builds(plan).map((b) => [b.package, b.reason, b.sourceRange])).toEqual([
      ['zlib', 'version-changed', `${first}..${second}`],
      ['app', 'dependency-changed', `${first}..${second}`],
    ]);
    const text = await runCli(['-C', dir, 'plan']);
    expect(text.stdout).toContain(`  ~ build zlib 1.1-1 -> main  (version-changed: 1.0-1 -> 1.1-1; commits ${first.slice(0, 12)}..${second.slice(0, 12)})\n`);
  });

  it('records a dirty config work tree in the run result', async () => {
    const { dir, first } = gitConfigRepo();
    writeFiles(dir, { 'notes.txt': 'not committed\n' });
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect((JSON.parse(run.stdout) as { config: unknown }).config).toEqual({ commit: first, dirty: true });
  });

  it('falls back to the commit fetched last, with a warning, when the fetch fails; refuses when nothing was ever fetched', async () => {
    const upstream = testdir({ ...recipe('libc') });
    initRepo(upstream);
    const commit = commitAll(upstream, 'one');
    const config = testdir({ ...configFiles(), 'branches/main.yaml': gitBranch(`git: ${upstream}\n  ref: main\n  subdir: recipes`) });
    const other = testdir({ ...configFiles(), 'branches/main.yaml': gitBranch(`git: ${upstream}\n  ref: main\n  subdir: recipes`) });
    expect(parsePlan(await runCli(['-C', config, 'plan', '--format', 'json'])).branches[0]!.sourceCommit).toBe(commit);
    renameSync(upstream, `${upstream}.gone`);
    try {
      const result = await runCli(['-C', config, 'plan', '--format', 'json']);
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(new RegExp(`^branches/main\\.yaml: warning: cannot fetch git source ${upstream}: .*; using the commit fetched last\\n  hint: check the network and source\\.git; the next run fetches again\\n$`));
      const plan = JSON.parse(result.stdout) as Plan;
      expect(plan.branches[0]!.sourceCommit).toBe(commit);
      expect(builds(plan).map((b) => b.package)).toEqual(['libc']);
      const never = await runCli(['-C', other, 'plan']);
      expect(never.code).toBe(1);
      expect(never.stdout).toBe('');
      expect(never.stderr).toMatch(new RegExp(`^branches/main\\.yaml: error: cannot clone git source ${upstream}: .*\\n  hint: check source\\.git`));
      expect(existsSync(path.join(other, 'var'))).toBe(true); // the cache directory only
      expect(existsSync(path.join(other, 'var/ledger.jsonl'))).toBe(false);
    } finally {
      renameSync(`${upstream}.gone`, upstream);
    }
  });

  it('refuses a ref that names no commit and a subdir that does not exist, located at the branch file', async () => {
    const { dir } = gitConfigRepo();
    writeFiles(dir, { 'branches/main.yaml': gitBranch('git: .\n  ref: no-such-branch') });
    const badRef = await runCli(['-C', dir, 'plan']);
    expect(badRef.code).toBe(1);
    expect(badRef.stderr).toBe(`branches/main.yaml: error: ref "no-such-branch" does not name a commit of ${dir}\n  hint: set source.ref to a branch, tag or commit of the repository\n`);
    writeFiles(dir, { 'branches/main.yaml': gitBranch('git: .\n  subdir: nowhere') });
    const badDir = await runCli(['-C', dir, 'plan']);
    expect(badDir.code).toBe(1);
    expect(badDir.stderr).toMatch(/^branches\/main\.yaml: error: directory "nowhere" does not exist at commit [0-9a-f]{12} of /);
    writeFiles(dir, { 'branches/main.yaml': gitBranch('git: .\n  subdir: ../elsewhere') });
    const outside = await runCli(['-C', dir, 'validate']);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toBe('branches/main.yaml:3:11: error: subdir "../elsewhere" leaves the repository\n  hint: give a directory inside the repository, relative to its top\n');
  });

  it('names recipe files in diagnostics by commit and path', async () => {
    const { dir, first } = gitConfigRepo();
    writeFiles(dir, { 'recipes/bad/recipe.yaml': 'name: bad\nversion: [1]\n' });
    commitAll(dir, 'bad');
    const result = await runCli(['-C', dir, 'plan']);
    expect(first).not.toBe('');
    expect(result.stderr).toMatch(/^[0-9a-f]{12}:recipes\/bad\/recipe\.yaml:2:\d+: error: /);
  });

  it('keeps only a few extracted trees after reconcile, and extracts again what was pruned', async () => {
    const { dir } = gitConfigRepo();
    const stateDir = path.join(dir, 'var');
    for (let i = 0; i < 5; i++) {
      writeFiles(dir, recipe('libc', { version: `1.${i}` }));
      commitAll(dir, `libc 1.${i}`);
      expect((await planBranches({ config: loadConfig(dir).config!, stateDir })).diagnostics).toEqual([]);
    }
    const trees = path.join(gitCacheDir(stateDir, dir), 'trees');
    expect(readdirSync(trees).length).toBe(5);
    expect((await runCli(['-C', dir, 'reconcile'])).code).toBe(0);
    expect(readdirSync(trees).length).toBe(4);
    rmSync(trees, { recursive: true });
    expect((await runCli(['-C', dir, 'plan', '--detailed-exitcode'])).code).toBe(0);
  });
});
