/**
 * `buildfleet watch`, driven by editing files and committing: every wait is on
 * the command's own output (JSON log lines on stderr, documents on stdout).
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { commitAll, initRepo } from '../helpers/gitRepo.js';
import { configFiles, recipe, WRITE_ARTIFACT } from '../helpers/reconcile-fixture.js';
import { startCli, waitFor, type StartedCli } from '../helpers/reconcile-process.js';
import { testdir, writeFiles } from '../helpers/testdir.js';

interface LogLine {
  readonly event?: string;
  readonly trigger?: string;
  readonly msg?: string;
}

function events(cli: StartedCli, name: string): LogLine[] {
  return cli
    .stderrSoFar()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine)
    .filter((l) => l.event === name);
}

/** Waits until the command has logged `name` at least `count` times. */
async function waitForEvent(cli: StartedCli, name: string, count = 1): Promise<void> {
  await waitFor(`${count} "${name}" event(s); stderr so far:\n${cli.stderrSoFar()}`, () => events(cli, name).length >= count, 60_000);
}

const triggers = (cli: StartedCli): string[] => events(cli, 'watch-run').map((e) => e.trigger ?? '');

describe('buildfleet watch', () => {
  it('--dry-run plans at start and after a change, ignoring editor temp files and the state directory', { timeout: 120_000 }, async () => {
    const dir = testdir({ ...configFiles(), ...recipe('libc'), ...recipe('zlib', { depends: ['libc'] }) });
    const watch = await startCli(['-C', dir, 'watch', '--dry-run', '--debounce', '1500']);
    await waitForEvent(watch, 'watch-idle');
    expect(watch.stdoutSoFar()).toContain('Plan: 2 to build, 0 to remove, 0 skipped, 0 up to date.\n');

    // Within one quiet period: editor temp files, a file in the state directory, then a real change.
    writeFiles(dir, {
      'recipes/zlib/.recipe.yaml.swp': 'swap',
      'branches/main.yaml~': 'backup',
      'recipes/zlib/4913': '',
      'var/ledger.jsonl': '',
      ...recipe('zlib', { version: '1.1', depends: ['libc'] }),
    });
    await waitForEvent(watch, 'watch-idle', 2);
    expect(triggers(watch)).toEqual(['start', 'recipes/zlib/build.sh, recipes/zlib/recipe.yaml changed']);
    expect(watch.stdoutSoFar()).toContain('  + build zlib 1.1-1 -> main  (new)\n');
    expect(existsSync(path.join(dir, 'repos'))).toBe(false); // a dry run builds nothing

    watch.child.kill('SIGINT');
    const result = await watch.finished;
    expect(result.code).toBe(0);
    expect(events(watch, 'watch-stopped')).toHaveLength(1);
  });

  it('reconciles after changes; a change during a run queues exactly one more run; SIGINT during a run stops after it (exit 130)', { timeout: 120_000 }, async () => {
    const dir = testdir({});
    const gate = path.join(dir, 'gate');
    writeFiles(dir, { ...configFiles(), ...recipe('libc'), ...recipe('zlib', { depends: ['libc'] }) });
    const watch = await startCli(['-C', dir, 'watch', '--debounce', '1000']);
    await waitForEvent(watch, 'watch-idle');
    expect(watch.stdoutSoFar()).toMatch(/run \S+: 2 built, 0 failed, 0 skipped, 0 removed/);

    // A build that waits for the gate; while it runs, two changes.
    writeFiles(dir, recipe('libc', { version: '2.0', script: `while [ ! -f '${gate}' ]; do sleep 0.05; done\n${WRITE_ARTIFACT}` }));
    await waitForEvent(watch, 'build-started', 3);
    writeFiles(dir, recipe('extra'));
    await waitForEvent(watch, 'watch-queued', 1);
    writeFiles(dir, recipe('more'));
    await waitForEvent(watch, 'watch-queued', 2);
    writeFileSync(gate, '');
    await waitForEvent(watch, 'watch-idle', 2);
    expect(triggers(watch)).toHaveLength(3);
    expect(triggers(watch)[2]).toMatch(/^recipes\/(extra|more)\//);
    const runs = watch.stdoutSoFar().match(/^run \S+: .*$/gm) ?? [];
    expect(runs.map((r) => r.replace(/^run \S+: /, '').replace(/ in .*$/, ''))).toEqual([
      '2 built, 0 failed, 0 skipped, 0 removed',
      '2 built, 0 failed, 0 skipped, 0 removed',
      '2 built, 0 failed, 0 skipped, 0 removed',
    ]);

    // SIGINT while a build runs: the run stops as reconcile does, and watch exits after it.
    rmSync(gate);
    writeFiles(dir, recipe('libc', { version: '3.0', script: `while [ ! -f '${gate}' ]; do sleep 0.05; done\n${WRITE_ARTIFACT}` }));
    await waitForEvent(watch, 'build-started', 7);
    watch.child.kill('SIGINT');
    await waitFor('the signal to be noted', () => watch.stderrSoFar().includes('stopping after this run'));
    watch.child.kill('SIGINT');
    const result = await watch.finished;
    expect(result.code).toBe(130);
    expect(result.stdout).toMatch(/\(interrupted\): 0 built/);
    expect(triggers(watch)).toHaveLength(4);
  });

  it('polls a git source at --interval and reconciles when its ref moves', { timeout: 120_000 }, async () => {
    const dir = testdir({
      ...configFiles(),
      'branches/main.yaml': (configFiles()['branches/main.yaml'] as string).replace('  path: recipes\n', '  git: .\n  ref: main\n  subdir: recipes\n'),
      ...recipe('libc'),
    });
    initRepo(dir);
    commitAll(dir, 'first');
    const watch = await startCli(['-C', dir, 'watch', '--interval', '1']);
    await waitForEvent(watch, 'watch-idle');
    expect(watch.stdoutSoFar()).toMatch(/: 1 built/);
    writeFiles(dir, recipe('zlib', { depends: ['libc'] }));
    const second = commitAll(dir, 'zlib');
    await waitForEvent(watch, 'watch-idle', 2);
    expect(triggers(watch)).toEqual(['start', `main: source ${second.slice(0, 12)}`]);
    expect(watch.stdoutSoFar()).toMatch(/built +zlib 1\.0-1/);
    watch.child.kill('SIGTERM');
    expect((await watch.finished).code).toBe(0);
  });
});

describe('numeric options', () => {
  // Each used to fall back to its default without a word (import mlist printed `port: .nan`).
  it.each([
    [['watch', '--interval', '0'], "option '--interval <seconds>' argument '0' is invalid. give a whole number of seconds from 1 to 2073600."],
    [['watch', '--interval', 'abc'], "option '--interval <seconds>' argument 'abc' is invalid. give a whole number of seconds from 1 to 2073600."],
    [['watch', '--debounce', '1e3'], "option '--debounce <ms>' argument '1e3' is invalid. give a whole number of milliseconds from 0 to 2073600000."],
    [['watch', '--grace', '-1'], "option '--grace <seconds>' argument '-1' is invalid. give a whole number of seconds from 0 to 2073600."],
    [['reconcile', '--grace', '1.5'], "option '--grace <seconds>' argument '1.5' is invalid. give a whole number of seconds from 0 to 2073600."],
    [['reconcile', '--grace', '9999999'], "option '--grace <seconds>' argument '9999999' is invalid. give a whole number of seconds from 0 to 2073600."],
    [['import', 'mlist', 'mlist', '--port', '70000'], "option '--port <port>' argument '70000' is invalid. give a TCP port number from 1 to 65535."],
  ])('%j is a usage error (exit 1) before anything runs', async (args, message) => {
    const dir = testdir({ mlist: 'gohan1 2\n' });
    const r = await runCli(['-C', dir, ...args], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`error: ${message}`);
    expect(existsSync(path.join(dir, 'var'))).toBe(false);
  });
});
