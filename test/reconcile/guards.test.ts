import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/plan/types.js';
import { runCli } from '../helpers/cli.js';
import { configFiles, recipe } from '../helpers/reconcile-fixture.js';
import { testdir, without, writeFiles } from '../helpers/testdir.js';

const guarded = (guards: string): string => `${configFiles()['branches/main.yaml'] as string}guards:\n${guards}`;

describe('prune and storm guards', () => {
  it('refuses a plan removing more than maxRemovePercent of a repo unless --allow-large, and says so in the plan', async () => {
    const files = { ...configFiles(), ...recipe('a'), ...recipe('b'), ...recipe('c') };
    const dir = testdir(files);
    expect((await runCli(['-C', dir, 'reconcile'])).code).toBe(0);
    const gone = without(files, 'recipes/b/recipe.yaml', 'recipes/c/recipe.yaml');
    const kept = testdir({});
    writeFiles(kept, gone);
    // Same repo and state, fewer recipes: point the branch at a source tree without b and c.
    writeFiles(dir, { 'branches/main.yaml': (configFiles()['branches/main.yaml'] as string).replace('path: recipes', `path: ${path.join(kept, 'recipes')}`) });

    const plan = await runCli(['-C', dir, 'plan']);
    expect(plan.stdout).toContain('branch main: 0 to build, 2 to remove, 0 skipped, 1 up to date\n  GUARD: removes 2 of the 3 packages of repo main (66.7%), more than guards.maxRemovePercent 50%; reconcile refuses this plan without --allow-large\n');
    const json = JSON.parse((await runCli(['-C', dir, 'plan', '--format', 'json'])).stdout) as Plan;
    expect(json.branches[0]!.guardViolations).toEqual([{ guard: 'maxRemovePercent', repo: 'main', limit: 50, value: 66.7, removals: 2, packages: 3 }]);
    const markdown = await runCli(['-C', dir, 'plan', '--format', 'markdown']);
    expect(markdown.stdout).toContain('> [!WARNING]\n> **main**: removes 2 of the 3 packages of repo main (66.7%), more than guards.maxRemovePercent 50%; `reconcile` refuses this plan without `--allow-large`.\n');

    const refused = await runCli(['-C', dir, 'reconcile']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(
      'branches/main.yaml: error: the plan of branch main removes 2 of the 3 packages of repo main (66.7%), more than guards.maxRemovePercent 50%; not applied\n  hint: check the plan (`buildfleet plan`); if it is what you want, run reconcile with --allow-large, or raise the limit under `guards:` in the branch file\n',
    );
    const index = (): string[] => (JSON.parse(readFileSync(path.join(dir, 'repos/main/index.json'), 'utf8')) as { packages: { name: string }[] }).packages.map((p) => p.name);
    expect(index()).toEqual(['a', 'b', 'c']);

    const allowed = await runCli(['-C', dir, 'reconcile', '--allow-large']);
    expect(allowed.code).toBe(0);
    expect(index()).toEqual(['a']);
  });

  it('refuses more than maxBuilds builds; a raised limit lets them through', async () => {
    const dir = testdir({ ...configFiles(), 'branches/main.yaml': guarded('  maxBuilds: 2\n'), ...recipe('a'), ...recipe('b'), ...recipe('c') });
    const refused = await runCli(['-C', dir, 'reconcile']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('branches/main.yaml: error: the plan of branch main 3 builds, more than guards.maxBuilds 2; not applied\n');
    writeFiles(dir, { 'branches/main.yaml': guarded('  maxBuilds: 3\n  maxRemovePercent: 100\n') });
    expect((await runCli(['-C', dir, 'reconcile'])).code).toBe(0);
  });

  it('checks the guard values', async () => {
    const dir = testdir({ ...configFiles(), 'branches/main.yaml': guarded('  maxBuilds: -1\n  maxRemovePercent: 150\n'), ...recipe('a') });
    const result = await runCli(['-C', dir, 'validate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('branches/main.yaml:13:14: error: guards.maxBuilds must be >= 0, not the number -1\n  hint: use a number >= 0\n');
    expect(result.stderr).toContain('branches/main.yaml:14:21: error: guards.maxRemovePercent must be <= 100, not the number 150\n');
  });
});
