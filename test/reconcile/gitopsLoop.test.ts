/**
 * The GitOps loop end to end (issue 7, "Done when"): a temporary git repository
 * holds a config and its recipes; each step commits a change, and `plan` then
 * `reconcile` follow the commit: a version bump rebuilds that package and its
 * dependents per the rebuild policy, a recipe removed is pruned, a rejected
 * build stays rejected until its recipe changes — and the HTML report of each
 * run (loaded in headless Chromium) shows it.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/plan/types.js';
import { dumpDom } from '../helpers/chromium.js';
import { runCli } from '../helpers/cli.js';
import { commitAll, initRepo } from '../helpers/gitRepo.js';
import { configFiles, readIndex, recipe } from '../helpers/reconcile-fixture.js';
import { testdir, writeFiles } from '../helpers/testdir.js';

/** A branch reading recipes/ of the config repository itself at `main`. */
function branchFile(rebuild: string, repos: string): string {
  return `source:\n  git: .\n  ref: main\n  subdir: recipes\n  format: recipe\npipeline: shell\nhosts: { labels: [x86_64] }\nrebuild: ${rebuild}\nrepos:\n${repos}`;
}

const MAIN_REPOS = '  - { name: testing, path: repos/testing, format: plain, packages: [tool], review: manual }\n  - { name: main, path: repos/main, format: plain, prune: true }\n';
const DIRECT_REPOS = '  - { name: direct, path: repos/direct, format: plain, packages: [libc, zlib, app], prune: true }\n';

/** `type package reason` (and the commit range of builds) of each action of each branch. */
async function plan(dir: string): Promise<{ commit: Record<string, string | undefined>; actions: Record<string, string[]> }> {
  const result = await runCli(['-C', dir, 'plan', '--format', 'json']);
  expect(result.stderr).toBe('');
  const doc = JSON.parse(result.stdout) as Plan;
  return {
    commit: Object.fromEntries(doc.branches.map((b) => [b.name, b.sourceCommit])),
    actions: Object.fromEntries(
      doc.branches.map((b) => [
        b.name,
        b.actions.map((a) => `${a.type} ${a.package} ${a.reason}${a.type === 'build' && a.sourceRange !== undefined ? ` ${a.sourceRange.split('..').map((c) => c.slice(0, 7)).join('..')}` : ''}`),
      ]),
    ),
  };
}

async function reconcile(dir: string): Promise<Record<string, string[]>> {
  const result = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
  expect(result.code, result.stderr).toBe(0);
  const doc = JSON.parse(result.stdout) as { branches: { name: string; results: { package: string; status: string; reason?: string }[] }[] };
  return Object.fromEntries(doc.branches.map((b) => [b.name, b.results.map((r) => `${r.status} ${r.package}${r.reason !== undefined ? ` ${r.reason}` : ''}`)]));
}

/** The row of `branch/pkg` in the Packages table of the latest report: its status and reason cells. */
function reportRow(html: string, branch: string, pkg: string): string | undefined {
  const row = new RegExp(`<tr id="pkg-${encodeURIComponent(`${branch}/${pkg}`)}"[^>]*>(.*?)</tr>`, 's').exec(html)?.[1];
  if (row === undefined) return undefined;
  const cells = [...row.matchAll(/<td[^>]*>(.*?)<\/td>/gs)].map((m) => m[1]!.replace(/<[^>]+>/g, '').replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/&amp;/g, '&'));
  return `${cells[1]} ${cells[2]}`.trim();
}

const published = (dir: string, repo: string): string[] => (readIndex(path.join(dir, 'repos', repo)) ?? []).map((p) => `${p.name} ${p.version}`).sort();

describe('the GitOps loop: plan and reconcile follow the commits of a config repository', () => {
  it('builds, rebuilds per policy, prunes, and keeps a rejected build rejected until its recipe changes', { timeout: 300_000 }, async () => {
    const files = {
      ...configFiles(),
      'branches/main.yaml': branchFile('transitive', MAIN_REPOS),
      'branches/direct.yaml': branchFile('direct', DIRECT_REPOS),
      ...recipe('libc'),
      ...recipe('zlib', { depends: ['libc'] }),
      ...recipe('app', { depends: ['zlib'] }),
      ...recipe('tool'),
    };
    const dir = testdir(files);
    initRepo(dir);
    const c1 = commitAll(dir, 'four recipes').slice(0, 7);

    // 1. Everything is new; tool goes to the manual-review repo.
    const first = await plan(dir);
    expect(first.commit.main?.slice(0, 7)).toBe(c1);
    expect(first.actions).toEqual({
      direct: ['build libc new', 'build zlib new', 'build app new', 'skip tool no-repo'],
      main: ['build libc new', 'build tool new', 'build zlib new', 'build app new'],
    });
    expect(await reconcile(dir)).toEqual({
      direct: ['built libc', 'built zlib', 'built app', 'skipped tool no-repo'],
      main: ['built libc', 'staged tool', 'built zlib', 'built app'],
    });
    expect(published(dir, 'main')).toEqual(['app 1.0-1', 'libc 1.0-1', 'zlib 1.0-1']);

    // 2. Rejected in review: skipped, and stays so.
    const reject = await runCli(['-C', dir, 'review', 'reject', 'tool', '--reason', 'output is empty']);
    expect(reject.code, reject.stderr).toBe(0);
    expect((await plan(dir)).actions.main).toEqual(['skip tool rejected']);

    // 3. A version bump: transitive rebuilds everything above libc, direct only its direct dependents.
    writeFiles(dir, recipe('libc', { version: '1.1' }));
    const c2 = commitAll(dir, 'libc 1.1').slice(0, 7);
    const bumped = await plan(dir);
    expect(bumped.actions).toEqual({
      direct: [`build libc version-changed ${c1}..${c2}`, `build zlib dependency-changed ${c1}..${c2}`, 'skip tool no-repo'],
      main: [`build libc version-changed ${c1}..${c2}`, `build zlib dependency-changed ${c1}..${c2}`, `build app dependency-changed ${c1}..${c2}`, 'skip tool rejected'],
    });
    expect(await reconcile(dir)).toEqual({
      direct: ['built libc', 'built zlib', 'skipped tool no-repo'],
      main: ['built libc', 'built zlib', 'built app', 'skipped tool rejected'],
    });
    expect(published(dir, 'main')).toEqual(['app 1.0-1', 'libc 1.1-1', 'zlib 1.0-1']);
    const report = path.join(dir, 'var', 'report.html');
    const afterBump = await dumpDom(report);
    expect(reportRow(afterBump, 'main', 'libc')).toMatch(/^built version-changed: 1\.0-1 -> 1\.1-1/);
    expect(reportRow(afterBump, 'main', 'app')).toMatch(/^built dependency-changed/);
    expect(reportRow(afterBump, 'direct', 'app')).toBeUndefined(); // direct: app is not rebuilt
    expect(reportRow(afterBump, 'main', 'tool')).toMatch(/^skipped rejected.*output is empty/);

    // 4. A recipe removed is pruned (from both branches).
    rmSync(path.join(dir, 'recipes/app'), { recursive: true });
    commitAll(dir, 'app removed');
    expect((await plan(dir)).actions).toEqual({ direct: ['skip tool no-repo', 'remove app not-in-source'], main: ['skip tool rejected', 'remove app not-in-source'] });
    expect(await reconcile(dir)).toEqual({ direct: ['skipped tool no-repo', 'removed app not-in-source'], main: ['skipped tool rejected', 'removed app not-in-source'] });
    expect(published(dir, 'main')).toEqual(['libc 1.1-1', 'zlib 1.0-1']);
    expect(published(dir, 'direct')).toEqual(['libc 1.1-1', 'zlib 1.0-1']);
    expect(reportRow(readFileSync(report, 'utf8'), 'main', 'app')).toMatch(/^removed/);

    // 5. The rejected recipe changes: built (and staged for review) again.
    writeFiles(dir, { 'recipes/tool/build.sh': { mode: 0o755, content: `${readFileSync(path.join(dir, 'recipes/tool/build.sh'), 'utf8')}echo fixed\n` } });
    const c4 = commitAll(dir, 'tool fixed').slice(0, 7);
    // Never published (its only build was rejected), so it is `new`; the range runs from that build's commit.
    expect((await plan(dir)).actions.main).toEqual([`build tool new ${c1}..${c4}`]);
    expect((await reconcile(dir)).main).toEqual(['staged tool']);
    expect(reportRow(await dumpDom(report), 'main', 'tool')).toMatch(/^staged/);

    // Nothing left to do.
    const done = await runCli(['-C', dir, 'plan', '--detailed-exitcode']);
    expect(done.code, done.stdout).toBe(0);
  });
});
