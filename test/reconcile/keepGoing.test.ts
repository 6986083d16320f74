/**
 * reconcile keeps going past failures: on a DAG with several failing builds, the
 * right packages are built, failed and skipped; failures are remembered
 * (failed-unchanged) and built again only with --retry-failed.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { testdir, writeFiles, type Files } from '../helpers/testdir.js';
import { buildsOf, configFiles, planSummary, readIndex, recipe, repoProblems, resultSummary, WRITE_ARTIFACT, type PlanDocument, type RunDocument } from '../helpers/reconcile-fixture.js';

/** A build that fails until the file `fixed` exists (outside the recipe, so the fingerprint stays the same). */
function failingUntil(fixed: string): string {
  return [
    'echo "configuring $BUILDFLEET_PACKAGE"',
    `if [ ! -f '${fixed}' ]; then`,
    '  for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo "compiling unit $i"; done',
    '  echo "error: $BUILDFLEET_PACKAGE: undefined reference to frobnicate" >&2',
    '  exit 2',
    'fi',
    WRITE_ARTIFACT,
  ].join('\n');
}

/**
 * The graph (✗ fails until `fixed` exists):
 *   base <- liba ✗ <- app1 <- tool
 *   base <- libb <- app3
 *   liba, libb <- app2
 *   libc ✗ <- appc
 *   solo
 */
function dag(fixed: string): Files {
  return {
    ...recipe('base'),
    ...recipe('liba', { depends: ['base'], script: failingUntil(fixed) }),
    ...recipe('libb', { depends: ['base'] }),
    ...recipe('app1', { depends: ['liba'] }),
    ...recipe('app2', { depends: ['liba', 'libb'] }),
    ...recipe('app3', { depends: ['libb'] }),
    ...recipe('tool', { depends: ['app1'] }),
    ...recipe('libc', { script: failingUntil(fixed) }),
    ...recipe('appc', { depends: ['libc'] }),
    ...recipe('solo'),
  };
}

function parseRun(stdout: string): RunDocument {
  return JSON.parse(stdout) as RunDocument;
}

describe('reconcile keeps going past failures', () => {
  it('builds what it can, skips the dependents of failures, remembers failures and retries them on request', { timeout: 90_000 }, async () => {
    const dir = testdir({});
    const fixed = path.join(dir, 'fixed'); // outside recipes/: not part of any fingerprint
    writeFiles(dir, {
      ...configFiles({ steps: [{ name: 'configure', run: 'echo configuring' }, { name: 'build', run: './build.sh' }] }),
      ...dag(fixed),
    });
    const state = path.join(dir, 'var');
    const repo = path.join(dir, 'repos/main');

    // Run 1: two failures, their dependents skipped, everything unrelated built.
    const first = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(first.code, first.stderr).toBe(3);
    const doc = parseRun(first.stdout);
    expect(doc.formatVersion).toBe(1);
    expect(doc.runId).toMatch(/\S/);
    expect(doc.branches.map((b) => b.name)).toEqual(['main']);
    expect(resultSummary(doc)).toEqual([
      'app1 skipped dependency-failed',
      'app2 skipped dependency-failed',
      'app3 built',
      'appc skipped dependency-failed',
      'base built',
      'liba failed',
      'libb built',
      'libc failed',
      'solo built',
      'tool skipped dependency-failed',
    ]);
    const results = new Map(doc.branches[0]!.results.map((r) => [r.package, r]));
    expect(results.get('tool')?.detail).toBe('liba');
    expect(results.get('appc')?.detail).toBe('libc');
    for (const name of ['base', 'libb', 'app3', 'solo', 'liba', 'libc']) {
      const r = results.get(name)!;
      expect(r.version).toBe('1.0-1');
      expect(r.host).toBe('local');
      expect(typeof r.seconds).toBe('number');
      expect(r.seconds).toBeGreaterThanOrEqual(0);
      expect(existsSync(r.log!), `${name}: log ${r.log}`).toBe(true);
    }
    // A failure names its step and carries the last lines of its output; its log is copied to errors/.
    for (const name of ['liba', 'libc']) {
      const r = results.get(name)!;
      expect(r.phase).toBe('build');
      expect(r.detail).toContain('exited with status 2');
      expect(r.tail).toContain(`error: ${name}: undefined reference to frobnicate`);
      expect(r.tail).toContain('compiling unit 20');
      expect(r.tail).not.toContain('compiling unit 1'); // only the last lines
      const copy = path.join(state, 'main', 'errors', path.basename(r.log!));
      expect(readFileSync(copy, 'utf8')).toBe(readFileSync(r.log!, 'utf8'));
      expect(readFileSync(copy, 'utf8')).toContain('undefined reference to frobnicate');
    }
    expect(existsSync(path.join(state, 'main', 'errors', 'base-1.0-1.log'))).toBe(false);
    // Exactly the built packages are published, consistently.
    expect(repoProblems(repo)).toEqual([]);
    expect(readIndex(repo)!.map((e) => e.name).sort()).toEqual(['app3', 'base', 'libb', 'solo']);

    // Run 2: the failures are remembered; nothing is built again.
    const plan = await runCli(['-C', dir, 'plan', '--format', 'json']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(planSummary(JSON.parse(plan.stdout) as PlanDocument)).toEqual([
      'skip app1 dependency-failed',
      'skip app2 dependency-failed',
      'skip appc dependency-failed',
      'skip liba failed-unchanged',
      'skip libc failed-unchanged',
      'skip tool dependency-failed',
    ]);
    const second = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(second.code, second.stderr).toBe(3);
    expect(resultSummary(parseRun(second.stdout))).toEqual([
      'app1 skipped dependency-failed',
      'app2 skipped dependency-failed',
      'appc skipped dependency-failed',
      'liba skipped failed-unchanged',
      'libc skipped failed-unchanged',
      'tool skipped dependency-failed',
    ]);
    expect(buildsOf(state, 'liba').map((r) => r.status)).toEqual(['failed']);
    expect(buildsOf(state, 'base').map((r) => r.status)).toEqual(['built']);

    // Run 3: the cause is fixed outside the recipe; --retry-failed builds the failures again (reason retry) and their dependents.
    writeFiles(dir, { fixed: 'yes\n' });
    const retryPlan = await runCli(['-C', dir, 'plan', '--retry-failed', '--format', 'json']);
    expect(retryPlan.code, retryPlan.stderr).toBe(0);
    expect(planSummary(JSON.parse(retryPlan.stdout) as PlanDocument)).toEqual([
      'build app1 new',
      'build app2 new',
      'build appc new',
      'build liba retry',
      'build libc retry',
      'build tool new',
    ]);
    const third = await runCli(['-C', dir, 'reconcile', '--retry-failed', '--format', 'json']);
    expect(third.code, third.stderr).toBe(0);
    expect(resultSummary(parseRun(third.stdout))).toEqual(['app1 built', 'app2 built', 'appc built', 'liba built', 'libc built', 'tool built']);
    expect(buildsOf(state, 'liba').map((r) => r.status)).toEqual(['failed', 'built']);
    expect(buildsOf(state, 'base').map((r) => r.status)).toEqual(['built']);
    expect(repoProblems(repo)).toEqual([]);
    expect(readIndex(repo)!.map((e) => e.name).sort()).toEqual(['app1', 'app2', 'app3', 'appc', 'base', 'liba', 'libb', 'libc', 'solo', 'tool']);
  });

  it('exits 3 while a failed package stays failed, even when nothing depends on it', { timeout: 60_000 }, async () => {
    const dir = testdir({ ...configFiles(), ...recipe('ok'), ...recipe('broken', { script: 'echo broken >&2; exit 1' }) });
    const first = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(first.code, first.stderr).toBe(3);
    expect(resultSummary(parseRun(first.stdout))).toEqual(['broken failed', 'ok built']);
    const second = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(second.code, second.stderr).toBe(3);
    expect(resultSummary(parseRun(second.stdout))).toEqual(['broken skipped failed-unchanged']);
  });
});
