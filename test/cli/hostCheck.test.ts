/**
 * A pipeline's `hostCheck`: a shell command a local host must pass when
 * planning. It runs in the config directory with BUILDFLEET_STATE_DIR set; where
 * it fails, the branch's packages are skipped (no-eligible-host) with its last
 * line of output as the reason and a located warning, and the run exits 0.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import type { PlanDocument, RunDocument } from '../helpers/reconcile-fixture.js';
import { BASE_PIPELINE, baseConfig, testdir } from '../helpers/testdir.js';

/** The base config with `hostCheck` added to its pipeline. */
function withCheck(check: string): string {
  // The base pipeline, with an artifact per build so that builds succeed.
  const pipeline = `${BASE_PIPELINE}  - name: package\n    run: echo "$BUILDFLEET_PACKAGE" >"$BUILDFLEET_OUT/$BUILDFLEET_PACKAGE-$BUILDFLEET_VERSION.txt"\n`;
  return testdir({ ...baseConfig(), 'pipelines/shell.yaml': `${pipeline}hostCheck: |\n${check.replace(/^/gm, '  ')}\n` });
}

const details = (doc: PlanDocument): string[] => doc.branches[0]!.actions.map((a) => `${a.type} ${a.package} ${a.reason} ${a.detail ?? ''}`).sort();

describe('pipelines: hostCheck', () => {
  it('skips the branch with the last line the check printed as the reason, with a located warning; exit 0', async () => {
    const dir = withCheck('echo "first line, not the reason"\necho "the build user is missing" >&2\nexit 3');
    const plan = await runCli(['-C', dir, 'plan', '--format', 'json', '--detailed-exitcode']);
    const why = 'no host can run pipeline shell (local: the build user is missing)';
    expect({ code: plan.code, stderr: plan.stderr }).toEqual({
      code: 0,
      stderr: `branches/main.yaml:4:11: warning: branch main: ${why}; its builds are skipped\n  hint: do what the reason says on the host, or add a host that passes the hostCheck of pipelines/shell.yaml (see docs/ARCH.md for makepkg)\n`,
    });
    expect(details(JSON.parse(plan.stdout) as PlanDocument)).toEqual([`skip app no-eligible-host ${why}`, `skip libc no-eligible-host ${why}`, `skip zlib no-eligible-host ${why}`]);

    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as RunDocument).branches[0]!.results.map((r) => `${r.package} ${r.status} ${r.reason ?? ''}`).sort()).toEqual([
      'app skipped no-eligible-host',
      'libc skipped no-eligible-host',
      'zlib skipped no-eligible-host',
    ]);
  });

  it('names how a check without output ended', async () => {
    const plan = await runCli(['-C', withCheck('exit 7'), 'plan', '--format', 'json']);
    expect(plan.code).toBe(0);
    expect(details(JSON.parse(plan.stdout) as PlanDocument)[0]).toBe('skip app no-eligible-host no host can run pipeline shell (local: its hostCheck exited with status 7)');
  });

  it('builds when the check passes; the check runs in the config directory with BUILDFLEET_STATE_DIR', async () => {
    const dir = withCheck('printf "%s\\n%s\\n" "$PWD" "$BUILDFLEET_STATE_DIR" >"$PWD/check-saw"');
    const stateDir = path.join(testdir({}), 'state');
    const run = await runCli(['-C', dir, '--state-dir', stateDir, 'reconcile', '--format', 'json']);
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    expect((JSON.parse(run.stdout) as RunDocument).branches[0]!.results.map((r) => `${r.package} ${r.status}`).sort()).toEqual(['app built', 'libc built', 'zlib built']);
    expect(readFileSync(path.join(dir, 'check-saw'), 'utf8')).toBe(`${dir}\n${stateDir}\n`);
  });
});
