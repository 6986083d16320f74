/**
 * `reconcile --plan FILE` applies exactly a reviewed plan: a plan made before the
 * config, the recipes or the observed state changed is refused, as stale; a
 * plan is applied with the options it was made with (--retry-failed).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { testdir, writeFiles } from '../helpers/testdir.js';
import { buildsOf, configFiles, planSummary, readIndex, recipe, resultSummary, WRITE_ARTIFACT, type PlanDocument, type RunDocument } from '../helpers/reconcile-fixture.js';

describe('reconcile --plan FILE', () => {
  it('refuses a plan made before a recipe changed, applies a current one once, then refuses it as stale', { timeout: 90_000 }, async () => {
    const dir = testdir({ ...configFiles(), ...recipe('lib'), ...recipe('app', { depends: ['lib'] }) });
    const state = path.join(dir, 'var');
    const repo = path.join(dir, 'repos/main');
    const planFile = path.join(dir, 'plan.json');

    const planned = await runCli(['-C', dir, 'plan', '--out', planFile]);
    expect(planned.code, planned.stderr).toBe(0);
    // The recipe changes after the plan was reviewed.
    writeFiles(dir, recipe('lib', { version: '1.1' }));
    const refused = await runCli(['-C', dir, 'reconcile', '--plan', planFile]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/saved plan is stale: the desired state \(config or recipes\) changed/);
    expect(refused.stderr).toContain('buildfleet plan --out FILE');
    expect(existsSync(path.join(repo, 'index.json'))).toBe(false);
    expect(buildsOf(state, 'lib')).toEqual([]);

    // A plan of the current state applies.
    const current = await runCli(['-C', dir, 'plan', '--out', planFile]);
    expect(current.code, current.stderr).toBe(0);
    const applied = await runCli(['-C', dir, 'reconcile', '--plan', planFile, '--format', 'json']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(resultSummary(JSON.parse(applied.stdout) as RunDocument)).toEqual(['app built', 'lib built']);
    expect(readIndex(repo)!.map((e) => `${e.name} ${e.version}`)).toEqual(['app 1.0-1', 'lib 1.1-1']);

    // Applying it again: the repos and the ledger changed since, so it is stale now.
    const again = await runCli(['-C', dir, 'reconcile', '--plan', planFile]);
    expect(again.code, again.stderr).toBe(1);
    expect(again.stderr).toMatch(/saved plan is stale: the observed state \(repos or ledger\) changed/);
    expect(buildsOf(state, 'lib').map((r) => r.status)).toEqual(['built']);
  });

  it('applies a plan made with --retry-failed with the retries it promised, even without the option', { timeout: 90_000 }, async () => {
    const dir = testdir({});
    const fixed = path.join(dir, 'fixed');
    writeFiles(dir, { ...configFiles(), ...recipe('flaky', { script: `[ -f '${fixed}' ] || { echo 'flaky: not today' >&2; exit 1; }\n${WRITE_ARTIFACT}` }) });
    const planFile = path.join(dir, 'plan.json');
    expect((await runCli(['-C', dir, 'reconcile'])).code).toBe(3);
    writeFiles(dir, { fixed: '' });

    const planned = await runCli(['-C', dir, 'plan', '--retry-failed', '--out', planFile, '--format', 'json']);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planSummary(JSON.parse(planned.stdout) as PlanDocument)).toEqual(['build flaky retry']);
    expect((JSON.parse(readFileSync(planFile, 'utf8')) as { options?: unknown }).options).toEqual({ retryFailed: true });
    // The saved plan carries its options: reconcile does what was reviewed.
    const applied = await runCli(['-C', dir, 'reconcile', '--plan', planFile, '--format', 'json']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(resultSummary(JSON.parse(applied.stdout) as RunDocument)).toEqual(['flaky built']);
    expect(buildsOf(path.join(dir, 'var'), 'flaky').map((r) => r.status)).toEqual(['failed', 'built']);
  });
});
