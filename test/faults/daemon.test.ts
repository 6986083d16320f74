/**
 * A build that forks daemons which keep running: `setsid` (holding the step's output
 * open, or closing its fds and leaving for /), a double fork, a daemon that ignores
 * SIGTERM, `nohup … &`, in a build that succeeds and in one that fails. Each escapes
 * the step's process group (but `nohup`); buildfleet finds them by the build's tag
 * (BUILDFLEET_BUILD_ID in their environment) when the step ends, kills them (TERM,
 * KILL after the grace period) and names them in the build log. Locally and over a
 * real sshd. Checked in /proc: after the run no process with the daemons' command
 * line is left; the run ends well within the step's timeout (a daemon holding the
 * output pipe does not keep the step waiting); the repo is published and consistent.
 *
 * The known limit, tested as such: a daemon that also clears its environment
 * (`setsid env -i …`) carries no tag; without isolation it survives (the test kills
 * it); with `isolation: overlay` the build's pid namespace ends it with the step.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CGROUP_PROBE, makeBuildCgroups, removeBuildCgroups } from '../../src/execute/buildCgroups.js';
import { LocalShell } from '../../src/execute/localTransport.js';
import { makeBusyboxRootTarball } from '../helpers/busyboxRoot.js';
import { runCli } from '../helpers/cli.js';
import { readIndex, repoProblems, WRITE_ARTIFACT, type RunDocument } from '../helpers/reconcile-fixture.js';
import { waitFor } from '../helpers/reconcile-process.js';
import { startSshFleet } from '../helpers/sshd.js';
import { BASE_HOSTS, recipeYaml, testdir, writeFiles, type Files } from '../helpers/testdir.js';

/** Seconds a loaded machine may add before the run ends (the step's timeout is 5 minutes). */
const SLACK_SECONDS = 60;
const GRACE_SECONDS = 1;

/** Pids whose command line holds `marker` as one argument. */
function processesWith(marker: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.some((a) => a === marker || a.includes(` ${marker}`))) found.push({ pid: Number(entry), command: args.join(' ').trim() });
    } catch {
      // gone
    }
  }
  return found;
}

function killAll(marker: string): void {
  for (const p of processesWith(marker)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/**
 * The daemons, each sleeping `seconds` (a number no other process uses: the marker; the
 * failing recipe's is the good one's with a 1 appended). The env -i one only when `clearingEnv`.
 */
function daemons(seconds: string, clearingEnv: boolean, expected: number): string {
  return [
    `setsid sh -c 'sleep ${seconds}' &`,
    `setsid sh -c 'exec </dev/null >/dev/null 2>&1; cd /; sleep ${seconds}' &`,
    `(setsid sh -c 'sleep ${seconds} &' &)`,
    `setsid sh -c "trap '' TERM; sleep ${seconds}" &`,
    `nohup sleep ${seconds} >/dev/null 2>&1 &`,
    ...(clearingEnv ? [`setsid env -i sh -c 'exec </dev/null >/dev/null 2>&1; sleep ${seconds}' &`] : []),
    // How many are running (in the build's own view of /proc), for the test to see they started.
    // (the pattern is not the marker itself: grep's own command line does not match)
    `count() { grep -lzx '[${seconds.slice(0, 1)}]${seconds.slice(1)}' /proc/[0-9]*/cmdline 2>/dev/null | wc -l; }`,
    `i=0; while [ "$(count)" -lt ${expected} ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done`,
    'echo "daemons running: $(count)"',
  ].join('\n');
}

function config(hostsYaml: string, seconds: string, options: { isolation?: 'overlay'; clearingEnv: boolean; prerequisite?: string }): Files {
  const isolated = options.isolation !== undefined ? `isolation: ${options.isolation}\nlimits: { processes: 64 }\n` : '';
  const prerequisites = options.prerequisite !== undefined ? `prerequisites:\n  - name: base\n    path: busybox-root.tar.gz\n    sha256: ${options.prerequisite}\n` : '';
  // Sleeps running: one per daemon (busybox, the isolated builds' root, has no nohup).
  const expected = (clearing: boolean): number => (options.isolation === 'overlay' ? 4 : 5) + (clearing ? 1 : 0);
  return {
    'hosts.yaml': hostsYaml,
    'pipelines/shell.yaml': `steps:\n  - name: build\n    run: ./build.sh\n    timeout: 5m\n${isolated}`,
    'branches/main.yaml': `source:\n  path: recipes\n  format: recipe\npipeline: shell\n${prerequisites}repos:\n  - name: main\n    path: repos/main\n    format: plain\n`,
    'recipes/good/recipe.yaml': recipeYaml('good'),
    'recipes/good/build.sh': { mode: 0o755, content: `#!/bin/sh\nset -eu\n${daemons(seconds, options.clearingEnv, expected(options.clearingEnv))}\n${WRITE_ARTIFACT}\n` },
    'recipes/bad/recipe.yaml': recipeYaml('bad'),
    'recipes/bad/build.sh': { mode: 0o755, content: `#!/bin/sh\nset -eu\n${daemons(`${seconds}1`, false, expected(false))}\necho "bad: failing on purpose"\nexit 1\n` },
  };
}

async function runWithDaemons(dir: string, hostsYaml: string, options: { isolation?: 'overlay'; clearingEnv: boolean; prerequisite?: string }): Promise<{ marker: string; doc: RunDocument; survivors: { pid: number; command: string }[] }> {
  const marker = String(900_000 + Math.floor(Math.random() * 99_999));
  onTestFinished(() => {
    killAll(marker);
    killAll(`${marker}1`);
  });
  writeFiles(dir, config(hostsYaml, marker, options));
  const started = Date.now();
  const run = await runCli(['-C', dir, 'reconcile', '--format', 'json', '--grace', String(GRACE_SECONDS)]);
  const elapsed = (Date.now() - started) / 1000;
  expect(run.code, run.stderr).toBe(3);
  expect(elapsed).toBeLessThan(SLACK_SECONDS);
  const doc = JSON.parse(run.stdout) as RunDocument;
  const results = doc.branches[0]!.results;
  expect(results.map((r) => `${r.package} ${r.status}`).sort()).toEqual(['bad failed', 'good built']);
  expect(results.find((r) => r.package === 'bad')!.detail).toBe('step exited with status 1');
  expect(repoProblems(path.join(dir, 'repos/main'))).toEqual([]);
  expect(readIndex(path.join(dir, 'repos/main'))!.map((e) => e.name)).toEqual(['good']);
  // Every daemon had started: five sleeps (six with the one that clears its environment; one less in busybox) in each build.
  const nohup = options.isolation === 'overlay' ? 0 : 1;
  expect(daemonsRunning(dir, 'good')).toBe(4 + nohup + (options.clearingEnv ? 1 : 0));
  expect(daemonsRunning(dir, 'bad')).toBe(4 + nohup);
  // Zombies have no command line: what is left is alive.
  return { marker, doc, survivors: [...processesWith(marker), ...processesWith(`${marker}1`)] };
}

/** The number of daemons' sleeps a build saw running before it ended. */
function daemonsRunning(dir: string, name: string): number {
  const log = readFileSync(path.join(dir, 'var/main/logs', `${name}-1.0-1.log`), 'utf8');
  return Number(/^daemons running: (\d+)$/m.exec(log)?.[1] ?? -1);
}

/** The warning lines of a build's log. */
function warnings(dir: string, name: string): string[] {
  const log = readFileSync(path.join(dir, 'var/main/logs', `${name}-1.0-1.log`), 'utf8');
  return log.split('\n').filter((l) => l.startsWith('buildfleet: warning:'));
}

function expectWarned(dir: string, name: string, marker: string): void {
  const lines = warnings(dir, name);
  expect(lines).toHaveLength(1);
  // setsid sh + sleep (twice), the double fork's sleep, the TERM-ignoring sh + sleep: 7 at least
  // (a shell may exec its last command instead of forking it).
  expect(lines[0]).toMatch(/^buildfleet: warning: step build left \d+ processes running outside its process group; killed: /);
  const count = Number(/left (\d+) processes/.exec(lines[0]!)![1]);
  expect(count).toBeGreaterThanOrEqual(4);
  expect(lines[0]!.split(`sleep ${marker}`).length - 1).toBeGreaterThanOrEqual(4);
}

describe('a build that forks daemons which keep running', () => {
  it('on the local host: every tagged daemon is killed when the step ends, named in the log; one that cleared its environment is the known limit', { timeout: 120_000 }, async () => {
    const dir = testdir({});
    const { marker, survivors } = await runWithDaemons(dir, BASE_HOSTS, { clearingEnv: true });
    expectWarned(dir, 'good', marker);
    expectWarned(dir, 'bad', `${marker}1`);
    // Only the daemon that cleared its environment is left: no tag, no cgroup without isolation.
    expect(survivors.map((p) => p.command).sort()).toEqual([`sh -c exec </dev/null >/dev/null 2>&1; sleep ${marker}`, `sleep ${marker}`]);
    for (const p of survivors) expect(readFileSync(`/proc/${p.pid}/environ`, 'utf8')).not.toContain('BUILDFLEET_BUILD_ID=');
  });

  it('with isolation: overlay, on the local host: the pid namespace ends every daemon with the step, the one that cleared its environment too', { timeout: 120_000 }, async () => {
    const dir = testdir({});
    const tarball = await makeBusyboxRootTarball(path.join(dir, 'busybox-root.tar.gz'), dir);
    const sha = createHash('sha256').update(readFileSync(tarball)).digest('hex');
    const { survivors } = await runWithDaemons(dir, BASE_HOSTS, { isolation: 'overlay', clearingEnv: true, prerequisite: sha });
    expect(survivors).toEqual([]);
  });

  it('in a build cgroup: what is still in it when the build ends is killed, a daemon without the tag too', { timeout: 60_000 }, async (context) => {
    const shell = new LocalShell();
    const probe = await shell.exec(['sh', '-c', CGROUP_PROBE]);
    if (!probe.stdout.includes('cgroup pids')) context.skip(`no writable pids cgroup here (the probe found: ${probe.stdout.trim() || 'none'})`);
    const made = await makeBuildCgroups(shell, `daemon-test-${process.pid}`, ['pids'], { processes: 64 });
    if (!made.ok) throw new Error(made.message);
    const marker = String(900_000 + Math.floor(Math.random() * 99_999));
    onTestFinished(() => killAll(marker));
    // A daemon that left its group and cleared its environment, in the build's cgroup (as the launcher puts a step).
    const dir = made.cgroups.dirs[0]!;
    const started = await shell.exec(['sh', '-c', `echo $$ > '${dir}/cgroup.procs' || exit 3; setsid env -i sh -c 'exec </dev/null >/dev/null 2>&1; sleep ${marker}' &`]);
    expect(started).toEqual({ code: 0, stdout: '', stderr: '' });
    await waitFor('the daemon to start', () => processesWith(marker).length > 0, 10_000);
    const pids = processesWith(marker).map((p) => p.pid);
    const removed = await removeBuildCgroups(shell, made.cgroups);
    expect(removed.error).toBeUndefined();
    for (const pid of pids) expect(removed.killed).toContain(pid);
    await waitFor('the daemon to be gone', () => processesWith(marker).length === 0, 10_000);
    expect(existsSync(dir)).toBe(false);
  });

  it('over SSH (real sshd): the same, killed on the host by the step script, named in the log', { timeout: 120_000 }, async () => {
    const fleet = await startSshFleet({ hosts: 1 });
    onTestFinished(() => fleet.stop());
    const dir = testdir({});
    const { marker, survivors } = await runWithDaemons(dir, `hosts:\n${fleet.hostsYaml([{ power: 2 }])}`, { clearingEnv: false });
    expectWarned(dir, 'good', marker);
    expectWarned(dir, 'bad', `${marker}1`);
    expect(survivors).toEqual([]);
    // Nothing left in the host's workdir either.
    await waitFor('the workspaces to be removed', () => readdirSync(path.join(fleet.hosts[0]!.workdir, 'work', 'main')).length === 0, 10_000);
  });
});
