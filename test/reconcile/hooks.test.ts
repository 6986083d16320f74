/**
 * A failing afterPublish hook fails the run (exit 3) and is named, but the repo
 * it ran after stays published and consistent.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { testdir } from '../helpers/testdir.js';
import { configFiles, readIndex, recipe, repoProblems, resultSummary, type RunDocument } from '../helpers/reconcile-fixture.js';

describe('afterPublish hooks', () => {
  it('reports a failing hook by name, exits 3 and leaves the repo published and consistent', { timeout: 60_000 }, async () => {
    const dir = testdir({
      ...configFiles({ afterPublish: ['scripts/list.sh', 'scripts/broken-hook.sh'] }),
      ...recipe('lib'),
      ...recipe('app', { depends: ['lib'] }),
      'scripts/list.sh': { mode: 0o755, content: '#!/bin/sh\nset -eu\nls "$BUILDFLEET_REPO_PATH" > "$BUILDFLEET_REPO_PATH/../listing.txt"\n' },
      'scripts/broken-hook.sh': { mode: 0o755, content: '#!/bin/sh\necho "broken-hook: cannot reach the mirror" >&2\nexit 7\n' },
    });
    const repo = path.join(dir, 'repos/main');

    const text = await runCli(['-C', dir, 'reconcile']);
    expect(text.code, text.stderr).toBe(3);
    expect(text.stdout).toMatch(/ERROR main: hook scripts\/broken-hook\.sh exited with status 7 \(repo main is published and consistent\)/);
    expect(text.stdout).toContain('broken-hook: cannot reach the mirror');

    // Published: every built package indexed, files present with their sha256 and size.
    expect(repoProblems(repo)).toEqual([]);
    expect(readIndex(repo)!.map((e) => e.name)).toEqual(['app', 'lib']);
    // The hook before it ran after the index was written.
    expect(readFileSync(path.join(dir, 'repos/listing.txt'), 'utf8').split('\n')).toContain('index.json');
  });

  it('names the failing hook in the JSON result', { timeout: 60_000 }, async () => {
    const dir = testdir({
      ...configFiles({ afterPublish: ['scripts/broken-hook.sh'] }),
      ...recipe('solo'),
      'scripts/broken-hook.sh': { mode: 0o755, content: '#!/bin/sh\nexit 9\n' },
    });
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.code, run.stderr).toBe(3);
    const doc = JSON.parse(run.stdout) as RunDocument;
    expect(resultSummary(doc)).toEqual(['solo built']);
    expect(doc.branches[0]!.errors).toEqual([expect.stringContaining('hook scripts/broken-hook.sh exited with status 9')]);
    expect(repoProblems(path.join(dir, 'repos/main'))).toEqual([]);
    expect(readIndex(path.join(dir, 'repos/main'))!.map((e) => e.name)).toEqual(['solo']);
  });
});
