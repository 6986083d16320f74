/**
 * Hostile branch YAML: shell syntax, 64 KiB strings and bytes that are not UTF-8
 * in dud names, repo names, branch file names and hook paths. Config errors stop
 * everything before any build (exit 1) with a located error; a hook is run as the
 * one program its path names, never through a shell.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { findCanaries, LONG } from '../helpers/hostile.js';
import { configFiles, readIndex, recipe, repoProblems } from '../helpers/reconcile-fixture.js';
import { testdir, writeFiles } from '../helpers/testdir.js';

const BRANCH_HEAD = 'source:\n  path: recipes\n  format: recipe\npipeline: shell\n';
const REPO = (name: string, hooks = ''): string => `repos:\n  - name: ${name}\n    path: repos/main\n    format: plain\n${hooks}`;

describe('hostile branch files', () => {
  it('refuses shell syntax, 64 KiB names and broken bytes with located errors before any build', async () => {
    const dir = testdir({ ...configFiles(), ...recipe('ok') });
    writeFiles(dir, {
      'branches/main.yaml': `${BRANCH_HEAD}duds:\n  - package: "x;touch canary-dud"\n    reason: "$(touch canary-reason)"\n  - package: "${LONG}"\n    reason: long\n${REPO('"main$(touch canary-repo)"')}`,
      // A branch's name is its file name.
      'branches/$(touch canary-branch).yaml': `${BRANCH_HEAD}${REPO('other')}`,
    });
    writeFileSync(path.join(dir, 'branches/bytes.yaml'), Buffer.concat([Buffer.from(`${BRANCH_HEAD.replace('shell', 'shell\xff')}`, 'latin1'), Buffer.from(REPO('b'))]));

    for (const command of [['validate'], ['plan'], ['reconcile']]) {
      const run = await runCli(['-C', dir, ...command], { cwd: dir });
      expect(run.code, `${command[0]}: ${run.stderr}`).toBe(1);
      expect(run.stderr).toContain('branches/main.yaml:6:14: error: duds[0].package: the string "x;touch canary-dud" is not allowed here');
      expect(run.stderr).toContain(`branches/main.yaml:8:14: error: duds[1].package is ${LONG.length} characters long; at most 201 are allowed`);
      expect(run.stderr).toContain('branches/main.yaml:11:11: error: repos[0].name: the string "main$(touch canary-repo)" is not allowed here');
      expect(run.stderr).toContain('branches/$(touch canary-branch).yaml: error: "$(touch canary-branch)" is not a valid branch name');
      expect(run.stderr).toMatch(/^branches\/bytes\.yaml:4:11: error: pipeline: the string "shell\uFFFD" is not allowed here$/m);
      for (const line of run.stderr.split('\n')) expect(line.length).toBeLessThan(400);
    }
    expect(findCanaries(dir, [os.tmpdir()])).toEqual([]);
    expect(existsSync(path.join(dir, 'repos'))).toBe(false);
    expect(existsSync(path.join(dir, 'var'))).toBe(false);
  });

  it('runs a hook as the program its path names: shell syntax in the path is part of the name', async () => {
    const hookName = 'scripts/a;b $(touch canary-hook) `id`.sh';
    const dir = testdir({ ...configFiles(), ...recipe('ok') });
    // Missing hooks, whose paths would run commands through a shell, are refused when the config is read.
    writeFiles(dir, {
      'branches/main.yaml': `${BRANCH_HEAD}${REPO('main', `    hooks:\n      afterPublish: ["scripts/missing; touch canary-missing", "scripts/x | touch canary-pipe", "${LONG}"]\n`)}`,
    });
    const refused = await runCli(['-C', dir, 'reconcile'], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('branches/main.yaml:10:22: error: hook "scripts/missing; touch canary-missing" does not exist');
    expect(refused.stderr).toContain('branches/main.yaml:10:63: error: hook "scripts/x | touch canary-pipe" does not exist');
    expect(refused.stderr).toContain(`branches/main.yaml:10:96: error: hook "${'a'.repeat(80)}…" (${LONG.length} characters) is too long to be a path`);
    expect(existsSync(path.join(dir, 'repos'))).toBe(false);

    // A hook whose file name holds shell syntax runs as that file.
    writeFiles(dir, {
      [hookName]: { mode: 0o755, content: '#!/bin/sh\necho "ran as $0" > "$BUILDFLEET_REPO_PATH/../hook-ran"\n' },
      'branches/main.yaml': `${BRANCH_HEAD}${REPO('main', `    hooks:\n      afterPublish: [${JSON.stringify(hookName)}]\n`)}`,
    });
    const run = await runCli(['-C', dir, 'reconcile'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'repos/hook-ran'), 'utf8')).toBe(`ran as ${path.join(dir, hookName)}\n`);
    expect(readIndex(path.join(dir, 'repos/main'))!.map((e) => e.name)).toEqual(['ok']);
    expect(repoProblems(path.join(dir, 'repos/main'))).toEqual([]);
    expect(findCanaries(dir, [os.tmpdir()])).toEqual([]);
  });
});
