/**
 * A build leaves no process behind: a hung build is stopped by its idleTimeout
 * together with its children, and whatever a successful step left running in
 * the background is killed when the step ends.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { testdir, writeFiles } from '../helpers/testdir.js';
import { configFiles, readIndex, recipe, resultSummary, WRITE_ARTIFACT, type RunDocument } from '../helpers/reconcile-fixture.js';
import { isRunning, waitFor } from '../helpers/reconcile-process.js';

/** Seconds a process may take to die after its group was signalled (a loaded machine is slow). */
const SLACK_SECONDS = 20;

describe('reconcile leaves no build process behind', () => {
  it('stops a hung build at its idleTimeout, children included, and kills what a finished step left running', { timeout: 90_000 }, async () => {
    const dir = testdir({});
    const hungChild = path.join(dir, 'hung-child.pid');
    const leftover = path.join(dir, 'leftover.pid');
    writeFiles(dir, {
      ...configFiles({ steps: [{ name: 'build', run: './build.sh', timeout: '10m', idleTimeout: '2s' }] }),
      // Starts a background child, then hangs without a word.
      ...recipe('hung', { script: `echo "starting the hung build"\nsleep 1000 &\necho $! > '${hungChild}'\nsleep 1000` }),
      // Succeeds, but leaves a daemon running (its output detached from the step's pipes).
      ...recipe('daemonizer', { script: `sleep 1000 >/dev/null 2>&1 &\necho $! > '${leftover}'\n${WRITE_ARTIFACT}` }),
    });
    const started = Date.now();
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    const elapsedSeconds = (Date.now() - started) / 1000;
    expect(run.code, run.stderr).toBe(3);
    const doc = JSON.parse(run.stdout) as RunDocument;
    expect(resultSummary(doc)).toEqual(['daemonizer built', 'hung failed']);

    const hung = doc.branches[0]!.results.find((r) => r.package === 'hung')!;
    expect(hung.phase).toBe('build');
    expect(hung.detail).toContain('idleTimeout');
    expect(hung.detail).toContain('2s');
    expect(hung.seconds).toBeLessThan(2 + SLACK_SECONDS); // stopped, not left to sleep for 1000 s
    expect(elapsedSeconds).toBeLessThan(2 + 2 * SLACK_SECONDS);
    expect(readFileSync(hung.log!, 'utf8')).toContain('idleTimeout');

    const hungChildPid = Number(readFileSync(hungChild, 'utf8'));
    const leftoverPid = Number(readFileSync(leftover, 'utf8'));
    expect(hungChildPid).toBeGreaterThan(1);
    expect(leftoverPid).toBeGreaterThan(1);
    // Signals are sent before the step's promise settles; allow the kernel a moment to deliver them.
    await waitFor(`the hung build's child ${hungChildPid} to be killed`, () => !isRunning(hungChildPid), SLACK_SECONDS * 1000);
    await waitFor(`the leftover process ${leftoverPid} to be killed`, () => !isRunning(leftoverPid), SLACK_SECONDS * 1000);

    expect(readIndex(path.join(dir, 'repos/main'))!.map((e) => e.name)).toEqual(['daemonizer']);
  });
});
