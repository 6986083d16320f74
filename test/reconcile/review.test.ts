/**
 * The manual review gate end to end with the real binary: builds of a repo with
 * `review: manual` are staged, not published nor built again; `review approve`
 * publishes them like reconcile (old versions removed, hooks run); `review
 * reject` keeps that fingerprint from being built again until its inputs change.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { writeFiles, testdir } from '../helpers/testdir.js';
import { buildsOf, configFiles, planSummary, readIndex, readLedgerLines, recipe, repoProblems, resultSummary, type PlanDocument, type RunDocument } from '../helpers/reconcile-fixture.js';

interface StagedDoc {
  staged: { branch: string; package: string; version: string; fingerprint: string; repo: string; reason: string; review: string; log: string; builtAgainst: { recipe: string }[] }[];
}

function reviewedConfig(): Record<string, string | { mode: number; content: string }> {
  const files = configFiles({ afterPublish: ['scripts/list.sh'] });
  return {
    ...files,
    'branches/main.yaml': (files['branches/main.yaml'] as string).replace('    prune: true\n', '    prune: true\n    review: manual\n'),
    'scripts/list.sh': { mode: 0o755, content: '#!/bin/sh\nset -eu\nls "$BUILDFLEET_REPO_PATH" > "$BUILDFLEET_REPO_PATH/../listing.txt"\n' },
  };
}

const script = (word: string): string => `echo "building with ${word}"\n{ echo "$BUILDFLEET_PACKAGE $BUILDFLEET_VERSION ${word}"; ls "$BUILDFLEET_DEPS"; } > "$BUILDFLEET_OUT/$BUILDFLEET_PACKAGE-$BUILDFLEET_VERSION.txt"`;

describe('review: manual', () => {
  it('stages builds and does not build them again; approve publishes them like reconcile', { timeout: 120_000 }, async () => {
    const dir = testdir({ ...reviewedConfig(), ...recipe('lib', { script: script('one') }), ...recipe('app', { depends: ['lib'] }) });
    const repo = path.join(dir, 'repos/main');
    const listStaged = async (): Promise<StagedDoc['staged']> => {
      const list = await runCli(['-C', dir, 'review', 'list', '--format', 'json']);
      expect(list.code, list.stderr).toBe(0);
      return (JSON.parse(list.stdout) as StagedDoc).staged;
    };
    const plan = async (): Promise<string[]> => {
      const p = await runCli(['-C', dir, 'plan', '--format', 'json']);
      expect(p.code, p.stderr).toBe(0);
      return planSummary(JSON.parse(p.stdout) as PlanDocument);
    };

    // 1. Built and staged, not published; the plan does not build them again.
    const first = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(first.code, first.stderr).toBe(0);
    expect(resultSummary(JSON.parse(first.stdout) as RunDocument)).toEqual(['app staged', 'lib staged']);
    expect(readIndex(repo)).toBeNull();
    const staged = await listStaged();
    expect(staged.map((s) => `${s.package} ${s.version} ${s.reason} ${s.repo}`)).toEqual(['app 1.0-1 new main', 'lib 1.0-1 new main']);
    expect(staged.find((s) => s.package === 'app')!.builtAgainst.map((d) => d.recipe)).toEqual(['lib']);
    expect(await plan()).toEqual(['skip app awaiting-review', 'skip lib awaiting-review']);
    expect((await runCli(['-C', dir, 'plan', '--detailed-exitcode'])).code).toBe(0);
    const again = await runCli(['-C', dir, 'reconcile']);
    expect(again.code, again.stderr).toBe(0);
    expect(buildsOf(path.join(dir, 'var'), 'lib')).toHaveLength(1);
    const status = await runCli(['-C', dir, 'status']);
    expect(status.stdout).toContain('STAGED lib 1.0-1 for repo main');

    // 2. show: version, fingerprint, what changed, the log and its tail.
    const show = await runCli(['-C', dir, 'review', 'show', 'lib']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('main/lib 1.0-1  awaiting review for repo main');
    expect(show.stdout).toContain(`fingerprint:  ${staged.find((s) => s.package === 'lib')!.fingerprint}`);
    expect(show.stdout).toContain('what changed: new');
    expect(show.stdout).toContain('| building with one');
    expect(readFileSync(staged.find((s) => s.package === 'lib')!.log, 'utf8')).toContain('building with one');

    // 3. app alone cannot be published: it was built against the unreviewed lib.
    const alone = await runCli(['-C', dir, 'review', 'approve', 'app']);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toContain('error: app 1.0-1 was built against lib 1.0-1, which is not published');
    expect(alone.stderr).toContain('hint: approve lib first or with it');
    expect(readIndex(repo)).toBeNull();

    // 4. Approve both: published like reconcile publishes, hook run, staging area empty.
    const approve = await runCli(['-C', dir, 'review', 'approve', 'lib', 'app']);
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout).toContain('approved main/lib 1.0-1: published to repo main');
    expect(repoProblems(repo)).toEqual([]);
    expect(readIndex(repo)!.map((e) => `${e.name} ${e.version}`)).toEqual(['app 1.0-1', 'lib 1.0-1']);
    expect(readFileSync(path.join(dir, 'repos/listing.txt'), 'utf8')).toContain('lib-1.0-1.txt');
    expect(await listStaged()).toEqual([]);
    expect(readLedgerLines(path.join(dir, 'var')).records.filter((r) => r.kind === 'review').map((r) => `${r.recipe} ${(r as unknown as { decision: string }).decision}`)).toEqual(['lib approved', 'app approved']);
    expect(await plan()).toEqual([]);
  });

  it('replaces a staged build when its inputs change; a rejected fingerprint is not built again until they change again', { timeout: 120_000 }, async () => {
    const dir = testdir({ ...reviewedConfig(), ...recipe('lib', { script: script('one') }), ...recipe('app', { depends: ['lib'] }) });
    const stateDir = path.join(dir, 'var');
    const listStaged = async (): Promise<StagedDoc['staged']> => (JSON.parse((await runCli(['-C', dir, 'review', 'list', '--format', 'json'])).stdout) as StagedDoc).staged;
    const plan = async (): Promise<PlanDocument> => JSON.parse((await runCli(['-C', dir, 'plan', '--format', 'json'])).stdout) as PlanDocument;
    expect((await runCli(['-C', dir, 'reconcile'])).code).toBe(0);
    const before = (await listStaged()).find((s) => s.package === 'lib')!;

    // A recipe change before review: built again, and the new build replaces the staged one.
    writeFiles(dir, recipe('lib', { script: script('two') }));
    expect(planSummary(await plan())).toEqual(['build app new', 'build lib new']);
    expect((await runCli(['-C', dir, 'reconcile'])).code).toBe(0);
    const staged = await listStaged();
    expect(staged.map((s) => `${s.package} ${s.version}`)).toEqual(['app 1.0-1', 'lib 1.0-1']);
    expect(staged.find((s) => s.package === 'lib')!.fingerprint).not.toBe(before.fingerprint);
    expect(readdirSync(path.join(stateDir, 'main/staged')).sort()).toEqual(['app', 'lib']);

    // Reject lib: never built again with that fingerprint; app (built against it) is held back.
    const reject = await runCli(['-C', dir, 'review', 'reject', 'lib', '--reason', 'breaks the ABI']);
    expect(reject.code, reject.stderr).toBe(0);
    expect(reject.stdout).toContain('rejected main/lib 1.0-1');
    const planDoc = await plan();
    expect(planSummary(planDoc)).toEqual(['skip app dependency-failed', 'skip lib rejected']);
    expect(planDoc.branches[0]!.actions.find((a) => a.package === 'lib')!.detail).toBe('breaks the ABI');
    const stuck = await runCli(['-C', dir, 'review', 'approve', 'app']);
    expect(stuck.code).toBe(1);
    expect(stuck.stderr).toContain('app 1.0-1 was built against lib 1.0-1, which is not published');
    const buildsBefore = buildsOf(stateDir, 'lib').length;
    await runCli(['-C', dir, 'reconcile']);
    expect(buildsOf(stateDir, 'lib')).toHaveLength(buildsBefore);

    // Until its recipe changes.
    writeFiles(dir, recipe('lib', { script: script('three') }));
    expect(planSummary(await plan())).toEqual(['build app new', 'build lib new']);
  });

  it('names unknown packages, unknown branches and a missing --reason, exit 1, changing nothing', { timeout: 120_000 }, async () => {
    const dir = testdir({ ...reviewedConfig(), ...recipe('lib') });
    expect((await runCli(['-C', dir, 'reconcile'])).code).toBe(0);
    const show = await runCli(['-C', dir, 'review', 'show', 'nope']);
    expect(show.code).toBe(1);
    expect(show.stderr).toContain('var: error: no build of "nope" awaits review');
    expect(show.stderr).toContain('hint: staged now: main/lib');
    const approve = await runCli(['-C', dir, 'review', 'approve', 'lib', 'nope']);
    expect(approve.code).toBe(1);
    expect(readIndex(path.join(dir, 'repos/main'))).toBeNull();
    const branch = await runCli(['-C', dir, 'review', 'approve', 'lib', '--branch', 'other']);
    expect(branch.code).toBe(1);
    expect(branch.stderr).toContain('branches/other.yaml: error: no branch named "other"');
    const noReason = await runCli(['-C', dir, 'review', 'reject', 'lib']);
    expect(noReason.code).toBe(1);
    expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
    expect(existsSync(path.join(dir, 'var/main/staged/lib/staged.json'))).toBe(true);
    const text = await runCli(['-C', dir, 'review', 'list']);
    expect(text.stdout).toMatch(/^main\/lib 1\.0-1 -> main {2}built on local in \d+s at .* {2}\(new\)$/m);
    // A staged build whose recipe left the source is dropped by the next reconcile.
    rmSync(path.join(dir, 'recipes/lib'), { recursive: true });
    expect((await runCli(['-C', dir, 'reconcile'])).code).toBe(0);
    expect(existsSync(path.join(dir, 'var/main/staged/lib'))).toBe(false);
  });
});
