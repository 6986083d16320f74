/**
 * Interruption: the first SIGINT starts no new builds and gives running ones the
 * grace period; the second (or the end of the grace period) stops them. Stopped
 * builds are `aborted` (retried next run, not failed), finished ones published,
 * and reconcile exits 130.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { testdir, writeFiles } from '../helpers/testdir.js';
import { buildsOf, configFiles, planSummary, readIndex, readLedgerLines, recipe, repoProblems, WRITE_ARTIFACT, type PlanDocument } from '../helpers/reconcile-fixture.js';
import { isRunning, startCli, waitFor, waitForFile } from '../helpers/reconcile-process.js';

/** A build that records its pid, then waits for `gate` (printing nothing), then writes its artifact. */
function gated(pidFile: string, gate: string): string {
  return `echo $$ > '${pidFile}'\nwhile [ ! -f '${gate}' ]; do sleep 0.05; done\n${WRITE_ARTIFACT}`;
}

function statuses(state: string, name: string): string[] {
  return buildsOf(state, name).map((r) => r.status);
}

describe('reconcile interrupted by SIGINT', () => {
  it('lets running builds finish within the grace period, stops the rest on a second signal, and publishes what finished', { timeout: 90_000 }, async () => {
    const dir = testdir({});
    const f = (name: string): string => path.join(dir, name);
    writeFiles(dir, {
      ...configFiles({ power: 3 }),
      ...recipe('quick'),
      ...recipe('finisher', { script: gated(f('finisher.pid'), f('finisher.gate')) }),
      ...recipe('long', { script: gated(f('long.pid'), f('never.gate')) }),
      ...recipe('waiting', { depends: ['finisher'], script: `echo started > '${f('waiting.started')}'\n${WRITE_ARTIFACT}` }),
      ...recipe('after-long', { depends: ['long'] }),
    });
    const state = f('var');
    const run = await startCli(['-C', dir, 'reconcile', '--grace', '600']);
    await waitFor('quick to be built', () => statuses(state, 'quick').includes('built'));
    await waitForFile(f('finisher.pid'));
    const longPid = Number(await waitForFile(f('long.pid')));

    run.child.kill('SIGINT');
    await waitFor('the first signal to be noted', () => run.stderrSoFar().includes('starting no new builds'));
    // Within the grace period a running build may still finish; nothing new starts.
    writeFileSync(f('finisher.gate'), '');
    await waitFor('finisher to be built', () => statuses(state, 'finisher').includes('built'));
    run.child.kill('SIGINT');
    const result = await run.finished;

    expect(result.code, result.stderr).toBe(130);
    expect(result.stdout).toContain('(interrupted)');
    expect(existsSync(f('waiting.started'))).toBe(false);
    expect(statuses(state, 'quick')).toEqual(['built']);
    expect(statuses(state, 'finisher')).toEqual(['built']);
    expect(statuses(state, 'long')).toEqual(['aborted']); // stopped, not failed
    expect(readLedgerLines(state).records.filter((r) => r.status === 'failed')).toEqual([]);
    expect(existsSync(path.join(state, 'main', 'errors'))).toBe(false);
    await waitFor(`the long build (pid ${longPid}) to be stopped`, () => !isRunning(longPid), 20_000);

    const repo = f('repos/main');
    expect(repoProblems(repo)).toEqual([]);
    expect(readIndex(repo)!.map((e) => e.name)).toEqual(['finisher', 'quick']);

    // The next plan retries the aborted build and builds what never started; nothing is failed-unchanged.
    const plan = await runCli(['-C', dir, 'plan', '--format', 'json']);
    expect(plan.code, plan.stderr).toBe(0);
    const doc = JSON.parse(plan.stdout) as PlanDocument;
    expect(planSummary(doc)).toEqual(['build after-long new', 'build long retry', 'build waiting new']);
    expect(doc.branches[0]!.actions.find((a) => a.package === 'long')?.detail).toBe('interrupted last time');
  });

  it('stops running builds when the grace period after the first signal ends', { timeout: 60_000 }, async () => {
    const dir = testdir({});
    writeFiles(dir, { ...configFiles(), ...recipe('long', { script: gated(path.join(dir, 'long.pid'), path.join(dir, 'never.gate')) }) });
    const state = path.join(dir, 'var');
    const run = await startCli(['-C', dir, 'reconcile', '--grace', '1', '--format', 'json']);
    const longPid = Number(await waitForFile(path.join(dir, 'long.pid')));
    run.child.kill('SIGINT');
    const result = await run.finished;

    expect(result.code, result.stderr).toBe(130);
    const doc = JSON.parse(result.stdout) as { interrupted: boolean; branches: { results: { package: string; status: string; reason?: string }[] }[] };
    expect(doc.interrupted).toBe(true);
    expect(doc.branches[0]!.results).toEqual([expect.objectContaining({ package: 'long', status: 'skipped', reason: 'aborted' })]);
    expect(statuses(state, 'long')).toEqual(['aborted']);
    expect(readFileSync(path.join(state, 'main', 'logs', 'long-1.0-1.log'), 'utf8')).toContain('interrupted');
    await waitFor(`the long build (pid ${longPid}) to be stopped`, () => !isRunning(longPid), 20_000);
  });
});
