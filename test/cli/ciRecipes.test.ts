/**
 * The CI recipes of docs/ci/ run for real: the commands are read from the
 * files (workflow steps, the crontab line, the systemd units), not retyped, and
 * run against a temporary git config repository with `buildfleet` on PATH.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BIN, REPO_ROOT, runCli } from '../helpers/cli.js';
import { commitAll, git, initRepo } from '../helpers/gitRepo.js';
import { configFiles, readIndex, recipe } from '../helpers/reconcile-fixture.js';
import { testdir, writeFiles } from '../helpers/testdir.js';

const CI = path.join(REPO_ROOT, 'docs', 'ci');

/** A directory holding a `buildfleet` wrapper of this checkout's binary, for PATH. */
function binDir(): string {
  const dir = testdir({ buildfleet: { mode: 0o755, content: `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n` } });
  return dir;
}

/**
 * A config repository (libc <- zlib, path source recipes/) committed on `main`: the
 * "origin" CI clones. `repoPath`: where repo `main` publishes (default repos/main in each clone).
 */
function originRepo(repoPath?: string): string {
  const files = configFiles();
  const branch = (files['branches/main.yaml'] as string).replace('path: repos/main', `path: ${repoPath ?? 'repos/main'}`);
  const dir = testdir({ ...files, 'branches/main.yaml': branch, ...recipe('libc'), ...recipe('zlib', { depends: ['libc'] }) });
  initRepo(dir);
  commitAll(dir, 'first');
  return dir;
}

function clone(origin: string): string {
  const dir = testdir({});
  git(dir, 'clone', '--quiet', origin, '.');
  return dir;
}

interface Shell {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a script as GitHub Actions runs a `run:` step (bash -e -o pipefail) or as cron does (sh -c). */
function shell(shellArgs: string[], script: string, cwd: string, env: Record<string, string>): Shell {
  const result = spawnSync(shellArgs[0]!, [...shellArgs.slice(1), script], { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env }, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface WorkflowStep {
  readonly name?: string;
  readonly run?: string;
}

/** The `run:` script of the step named `name` of job `job` in docs/ci/github-actions.yml. */
function workflowStep(job: string, name: string): string {
  const workflow = parse(readFileSync(path.join(CI, 'github-actions.yml'), 'utf8')) as { env: Record<string, string>; jobs: Record<string, { steps: WorkflowStep[] }> };
  const step = workflow.jobs[job]!.steps.find((s) => s.name === name);
  expect(step?.run, `step "${name}" of job ${job}`).toBeDefined();
  return step!.run!;
}

/** `KEY=value` lines and the command of the schedule line of docs/ci/buildfleet.cron. */
function cronEntry(): { env: Record<string, string>; schedule: string; command: string } {
  const lines = readFileSync(path.join(CI, 'buildfleet.cron'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const env: Record<string, string> = {};
  let entry: { schedule: string; command: string } | undefined;
  for (const line of lines) {
    const assignment = /^([A-Z_]+)=(.*)$/.exec(line);
    if (assignment !== null) env[assignment[1]!] = assignment[2]!;
    else {
      const fields = line.split(/\s+/);
      entry = { schedule: fields.slice(0, 5).join(' '), command: fields.slice(5).join(' ') };
    }
  }
  expect(entry).toBeDefined();
  return { env, ...entry! };
}

/** Key/value lines of a systemd unit file (repeated keys in order). */
function unitEntries(file: string): [string, string][] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

const versions = (dir: string): string[] => (readIndex(dir) ?? []).map((p) => `${p.name} ${p.version}`);

describe('CI recipes (docs/ci)', () => {
  it('GitHub Actions: the pull-request plan says whether there is work and writes the Markdown comment; the main-branch job reconciles', { timeout: 120_000 }, () => {
    // Every job checks out a fresh clone: the state and the published repo live outside it.
    const published = path.join(testdir({}), 'main');
    const origin = originRepo(published);
    const state = testdir({});
    const env = (work: string): Record<string, string> => ({ PATH: `${binDir()}:${process.env.PATH ?? ''}`, BUILDFLEET_STATE: state, GITHUB_OUTPUT: path.join(work, 'github-output') });
    const bash = ['bash', '--noprofile', '--norc', '-e', '-o', 'pipefail', '-c'];

    const pr = clone(origin);
    const plan = shell(bash, workflowStep('plan', 'Plan'), pr, env(pr));
    expect(plan.code, plan.stderr).toBe(0);
    expect(readFileSync(path.join(pr, 'github-output'), 'utf8')).toBe('changes=true\n');
    const comment = readFileSync(path.join(pr, 'plan.md'), 'utf8');
    expect(comment).toContain('### buildfleet plan\n\n**Plan:** 2 to build, 0 to remove, 0 skipped, 0 up to date.\n');

    const main = clone(origin);
    const reconcile = shell(bash, workflowStep('reconcile', 'Reconcile'), main, env(main));
    expect(reconcile.code, reconcile.stderr).toBe(0);
    const run = JSON.parse(readFileSync(path.join(main, 'run.json'), 'utf8')) as { branches: { results: { package: string; status: string }[] }[]; config: { commit: string; dirty: boolean } };
    expect(run.branches[0]!.results.map((r) => `${r.package} ${r.status}`)).toEqual(['libc built', 'zlib built']);
    expect(run.config).toEqual({ commit: git(origin, 'rev-parse', 'HEAD'), dirty: true }); // run.json itself is new in the work tree

    const again = clone(origin);
    const none = shell(bash, workflowStep('plan', 'Plan'), again, env(again));
    expect(none.code, none.stderr).toBe(0);
    expect(readFileSync(path.join(again, 'github-output'), 'utf8')).toBe('changes=false\n');

    writeFiles(again, { 'branches/main.yaml': 'pipeline: [broken\n' });
    const broken = shell(bash, workflowStep('plan', 'Plan'), again, env(again));
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^branches\/main\.yaml:\d+:\d+: error: /m);
  });

  it('cron: each run pulls the config repository and reconciles, logging JSON to the log file', { timeout: 120_000 }, async () => {
    const origin = originRepo();
    const work = clone(origin);
    const log = path.join(testdir({}), 'reconcile.log');
    const cron = cronEntry();
    expect(cron.schedule).toBe('*/15 * * * *');
    expect(Object.keys(cron.env).sort()).toEqual(['BUILDFLEET_CONFIG', 'BUILDFLEET_LOG']);
    const env = { PATH: `${binDir()}:${process.env.PATH ?? ''}`, BUILDFLEET_CONFIG: work, BUILDFLEET_LOG: log };

    expect(shell(['sh', '-c'], cron.command, '/', env).code).toBe(0);
    expect(versions(path.join(work, 'repos/main'))).toEqual(['libc 1.0-1', 'zlib 1.0-1']);
    writeFiles(origin, recipe('libc', { version: '1.1' }));
    commitAll(origin, 'libc 1.1');
    const second = shell(['sh', '-c'], cron.command, '/', env);
    expect(second.code, readFileSync(log, 'utf8')).toBe(0);
    expect(versions(path.join(work, 'repos/main'))).toEqual(['libc 1.1-1', 'zlib 1.0-1']);
    const events = readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { event?: string }).event);
    expect(events.filter((e) => e === 'run-started')).toHaveLength(2);
    expect((await runCli(['-C', work, 'plan', '--detailed-exitcode'])).code).toBe(0);
  });

  it('systemd: the units verify, and the service pulls and reconciles', { timeout: 120_000 }, () => {
    const service = path.join(CI, 'buildfleet.service');
    const timer = path.join(CI, 'buildfleet.timer');
    const bin = binDir();
    // systemd looks commands up in its own fixed path: point it at the wrapper to verify the rest.
    const units = testdir({});
    writeFileSync(path.join(units, 'buildfleet.service'), readFileSync(service, 'utf8').replace(/^ExecStart=buildfleet /m, `ExecStart=${bin}/buildfleet `));
    copyFileSync(timer, path.join(units, 'buildfleet.timer'));
    const verify = spawnSync('systemd-analyze', ['verify', path.join(units, 'buildfleet.service'), path.join(units, 'buildfleet.timer')], { encoding: 'utf8' });
    expect(verify.stderr).toBe('');
    expect(verify.status).toBe(0);
    expect(unitEntries(timer)).toContainEqual(['OnUnitInactiveSec', '15min']);

    const origin = originRepo();
    const work = clone(origin);
    const entries = unitEntries(service);
    const env: Record<string, string> = {};
    for (const [, value] of entries.filter(([k]) => k === 'Environment')) env[value.slice(0, value.indexOf('='))] = value.slice(value.indexOf('=') + 1);
    env.BUILDFLEET_CONFIG = work;
    const commands = entries.filter(([k]) => k === 'ExecStartPre' || k === 'ExecStart').map(([, v]) => v.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => env[name] ?? ''));
    expect(commands).toHaveLength(2);
    const runAll = (): void => {
      for (const command of commands) {
        const [file, ...args] = command.split(/\s+/);
        execFileSync(file!, args, { env: { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '/root' }, stdio: 'pipe' });
      }
    };
    runAll();
    expect(versions(path.join(work, 'repos/main'))).toEqual(['libc 1.0-1', 'zlib 1.0-1']);
    writeFiles(origin, recipe('zlib', { version: '2.0', depends: ['libc'] }));
    commitAll(origin, 'zlib 2.0');
    runAll();
    expect(versions(path.join(work, 'repos/main'))).toEqual(['libc 1.0-1', 'zlib 2.0-1']);
  });
});
