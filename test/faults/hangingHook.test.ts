/**
 * An afterPublish hook that hangs — and whose child keeps its output open — is
 * stopped at the repo's `hooks.timeout` with everything it started; the run
 * reports it (exit 3) with the repo published and consistent, and the next run
 * runs the hook again until it succeeds once.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { readIndex, recipe, repoProblems, type RunDocument } from '../helpers/reconcile-fixture.js';
import { isRunning, waitFor } from '../helpers/reconcile-process.js';
import { BASE_HOSTS, testdir, writeFiles } from '../helpers/testdir.js';

/** Seconds a loaded machine may add to the hook's limit before the run ends. */
const SLACK_SECONDS = 20;
const HOOK_TIMEOUT_SECONDS = 2;

describe('a hanging afterPublish hook', () => {
  it('is stopped at hooks.timeout with its children; the repo stays published; the next run retries it', async () => {
    const dir = testdir({});
    const childPid = path.join(dir, 'hook-child.pid');
    const files = {
      'hosts.yaml': BASE_HOSTS,
      'pipelines/shell.yaml': 'steps:\n  - name: build\n    run: ./build.sh\n    timeout: 1m\n',
      'branches/main.yaml': `source:\n  path: recipes\n  format: recipe\npipeline: shell\nrepos:\n  - name: main\n    path: repos/main\n    format: plain\n    hooks:\n      afterPublish: [scripts/hang.sh]\n      timeout: ${HOOK_TIMEOUT_SECONDS}s\n`,
      // A child that holds the hook's output open, then the hook itself waits for ever.
      'scripts/hang.sh': { mode: 0o755, content: `#!/bin/sh\necho "hook: mirroring"\nsleep 1000 &\necho $! > '${childPid}'\nsleep 1000\n` },
      ...recipe('lib'),
      ...recipe('app', { depends: ['lib'] }),
    };
    writeFiles(dir, files);

    const started = Date.now();
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    const elapsed = (Date.now() - started) / 1000;
    expect(run.code, run.stderr).toBe(3);
    expect(elapsed).toBeLessThan(HOOK_TIMEOUT_SECONDS + SLACK_SECONDS);
    const doc = JSON.parse(run.stdout) as RunDocument;
    expect(doc.branches[0]!.errors).toEqual([
      `hook scripts/hang.sh did not finish within ${HOOK_TIMEOUT_SECONDS}s and was stopped (hooks.timeout) (repo main is published and consistent):\nhook: mirroring`,
    ]);
    const pid = Number(readFileSync(childPid, 'utf8'));
    expect(pid).toBeGreaterThan(1);
    await waitFor(`the hook's child ${pid} to be killed`, () => !isRunning(pid), SLACK_SECONDS * 1000);
    expect(repoProblems(path.join(dir, 'repos/main'))).toEqual([]);
    expect(readIndex(path.join(dir, 'repos/main'))!.map((e) => e.name)).toEqual(['app', 'lib']);

    // Nothing to build, but the hook is still owed: the next run runs it again; fixed, it succeeds.
    writeFiles(dir, { 'scripts/hang.sh': { mode: 0o755, content: '#!/bin/sh\necho ok > "$BUILDFLEET_REPO_PATH/../hook-done"\n' } });
    const next = await runCli(['-C', dir, 'reconcile']);
    expect(next.code, next.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'repos/hook-done'), 'utf8')).toBe('ok\n');
    expect(readIndex(path.join(dir, 'repos/main'))!.map((e) => e.name)).toEqual(['app', 'lib']);
  });
});
