/**
 * What a run finds after one that died or half-failed: builds still running in
 * the workspaces of a killed run are stopped, hooks that failed run again until
 * they succeed, and a build finished but not recorded is recorded.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { testdir, writeFiles } from '../helpers/testdir.js';
import { buildsOf, configFiles, readIndex, recipe, WRITE_ARTIFACT, type LedgerLine } from '../helpers/reconcile-fixture.js';
import { isRunning, startCli, waitForFile } from '../helpers/reconcile-process.js';

describe('recovery after a run that died', () => {
  it('kills builds still running in the workspaces of a SIGKILLed run and removes the workspaces', { timeout: 90_000 }, async () => {
    const dir = testdir({});
    const pidFile = path.join(dir, 'builder.pid');
    const gate = path.join(dir, 'gate');
    writeFiles(dir, {
      ...configFiles(),
      // The build waits for a gate file that only appears after the run was killed.
      ...recipe('slow', { script: `echo $$ > '${pidFile}'\nwhile [ ! -f '${gate}' ]; do sleep 0.1; done\n${WRITE_ARTIFACT}` }),
    });
    const run = await startCli(['-C', dir, 'reconcile']);
    const pid = Number((await waitForFile(pidFile)).trim());
    run.child.kill('SIGKILL');
    await run.finished;
    // The build outlived its parent: its process group was its own.
    expect(isRunning(pid)).toBe(true);
    const work = path.join(dir, 'var/main/work');
    expect(readdirSync(work)).toHaveLength(1);

    rmSync(pidFile);
    const next = await startCli(['-C', dir, 'reconcile', '--log-format', 'json']);
    // The next run kills the orphan before it builds again (the new build writes a new pid file).
    await waitForFile(pidFile);
    expect(isRunning(pid)).toBe(false);
    expect(next.stderrSoFar()).toContain('removed 1 workspace(s) left by a run that died, and killed');
    writeFileSync(gate, '');
    const done = await next.finished;
    expect(done.code, done.stderr).toBe(0);
    expect(readIndex(path.join(dir, 'repos/main'))!.map((e) => e.name)).toEqual(['slow']);
    expect(readdirSync(work)).toEqual([]);
  });

  it('runs a failed afterPublish hook again on the next run, until it succeeds once', { timeout: 60_000 }, async () => {
    const dir = testdir({});
    const ok = path.join(dir, 'mirror-up');
    const calls = path.join(dir, 'calls');
    writeFiles(dir, {
      ...configFiles({ afterPublish: ['scripts/mirror.sh'] }),
      ...recipe('solo'),
      'scripts/mirror.sh': { mode: 0o755, content: `#!/bin/sh\necho call >> '${calls}'\n[ -f '${ok}' ] || { echo 'mirror down' >&2; exit 1; }\n` },
    });
    expect((await runCli(['-C', dir, 'reconcile'])).code).toBe(3);
    // Nothing new to publish, the mirror still down: the hook runs again and the run still fails.
    expect((await runCli(['-C', dir, 'reconcile'])).code).toBe(3);
    writeFileSync(ok, '');
    expect((await runCli(['-C', dir, 'reconcile'])).code).toBe(0);
    // Succeeded once: not run again when nothing is published.
    expect((await runCli(['-C', dir, 'reconcile'])).code).toBe(0);
    expect(readFileLines(calls)).toHaveLength(3);
    expect(existsSync(path.join(dir, 'var/main/hooks-pending/main'))).toBe(false);
  });

  it('records a build found finished in the artifact cache but missing from the ledger', { timeout: 60_000 }, async () => {
    const dir = testdir({ ...configFiles(), ...recipe('lib') });
    expect((await runCli(['-C', dir, 'reconcile'])).code).toBe(0);
    const [entry] = readIndex(path.join(dir, 'repos/main'))!;
    // As if a run had died after storing the build in the artifact cache, before its ledger line and the publish.
    const cacheDir = path.join(dir, 'var/main/artifacts', entry!.fingerprint);
    mkdirSync(cacheDir, { recursive: true });
    copyFileSync(path.join(dir, 'repos/main', entry!.file), path.join(cacheDir, entry!.file));
    const cached = { formatVersion: 1, branch: 'main', recipe: 'lib', version: entry!.version, fingerprint: entry!.fingerprint, host: 'local', seconds: 0.5, log: 'lib.log', builtAt: new Date().toISOString() };
    writeFileSync(path.join(cacheDir, 'result.json'), JSON.stringify({ ...cached, packages: [{ name: 'lib', file: entry!.file, sha256: entry!.sha256, size: entry!.size }] }));
    rmSync(path.join(dir, 'var/ledger.jsonl'));
    rmSync(path.join(dir, 'repos/main'), { recursive: true });

    const again = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { branches: { results: { cached?: boolean }[] }[] }).branches[0]!.results[0]!.cached).toBe(true);
    const records = buildsOf(path.join(dir, 'var'), 'lib') as (LedgerLine & { inputs?: unknown })[];
    expect(records.map((r) => [r.status, r.fingerprint])).toEqual([['built', entry!.fingerprint]]);
    expect(records[0]!.inputs).toBeDefined();
    expect(readIndex(path.join(dir, 'repos/main'))!.map((e) => e.name)).toEqual(['lib']);
    expect(readdirSync(path.join(dir, 'var/main/artifacts'))).toEqual([]);
  });
});

function readFileLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
}
