/**
 * One reconcile per state directory: a second one exits 4 and names the holder;
 * a lock left by a dead process is taken over.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { testdir, writeFiles } from '../helpers/testdir.js';
import { configFiles, readIndex, recipe, WRITE_ARTIFACT } from '../helpers/reconcile-fixture.js';
import { deadPid, startCli, waitForFile } from '../helpers/reconcile-process.js';

describe('the state lock', () => {
  it('makes a second reconcile on the same state exit 4, naming the holder', { timeout: 90_000 }, async () => {
    const dir = testdir({});
    const started = path.join(dir, 'slow.started');
    const gate = path.join(dir, 'slow.gate');
    const state = path.join(dir, 'state');
    writeFiles(dir, {
      ...configFiles(),
      // A slow build: it runs until the test opens the gate.
      ...recipe('slow', { script: `echo started > '${started}'\nwhile [ ! -f '${gate}' ]; do sleep 0.05; done\n${WRITE_ARTIFACT}` }),
    });
    const holder = await startCli(['-C', dir, '--state-dir', state, 'reconcile']);
    try {
      await waitForFile(started);
      const lock = JSON.parse(readFileSync(path.join(state, 'lock'), 'utf8')) as { pid: number; host: string; startedAt: string; command: string };
      expect(lock).toMatchObject({ pid: holder.pid, host: os.hostname(), command: 'reconcile' });

      const second = await runCli(['-C', dir, '--state-dir', state, 'reconcile']);
      expect(second.code, second.stderr).toBe(4);
      expect(second.stderr).toContain(`pid ${holder.pid}`);
      expect(second.stderr).toContain(os.hostname());
      expect(second.stderr).toContain(lock.startedAt);
      expect(second.stdout).toBe('');
    } finally {
      writeFileSync(gate, '');
    }
    const first = await holder.finished;
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(path.join(state, 'lock'))).toBe(false);
    expect(readIndex(path.join(dir, 'repos/main'))!.map((e) => e.name)).toEqual(['slow']);
  });

  it('lets exactly one of two reconciles started together run', { timeout: 90_000 }, async () => {
    const dir = testdir({});
    const gate = path.join(dir, 'gate');
    writeFiles(dir, { ...configFiles(), ...recipe('slow', { script: `while [ ! -f '${gate}' ]; do sleep 0.05; done\n${WRITE_ARTIFACT}` }) });
    const both = await Promise.all([startCli(['-C', dir, 'reconcile']), startCli(['-C', dir, 'reconcile'])]);
    try {
      // The build waits for the gate, so the winner is still running when the loser gives up.
      const loser = await Promise.race(both.map((run) => run.finished));
      expect(loser.code, loser.stderr).toBe(4);
    } finally {
      writeFileSync(gate, '');
    }
    const codes = (await Promise.all(both.map((run) => run.finished))).map((r) => r.code).sort();
    expect(codes).toEqual([0, 4]);
    expect(readdirSync(path.join(dir, 'var')).filter((f) => f.startsWith('lock'))).toEqual([]);
  });

  it('takes over a lock left by a dead process and removes it when done', { timeout: 60_000 }, async () => {
    const dir = testdir({ ...configFiles(), ...recipe('pkg') });
    const state = path.join(dir, 'state');
    const dead = { pid: deadPid(), host: os.hostname(), startedAt: '2026-01-02T03:04:05.000Z', command: 'reconcile' };
    writeFiles(state, { lock: `${JSON.stringify(dead)}\n` });

    const run = await runCli(['-C', dir, '--state-dir', state, 'reconcile']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`took over the lock of a dead run (pid ${dead.pid}`);
    expect(existsSync(path.join(state, 'lock'))).toBe(false);
    expect(existsSync(path.join(state, 'lock.takeover'))).toBe(false);
    expect(readIndex(path.join(dir, 'repos/main'))!.map((e) => e.name)).toEqual(['pkg']);
  });
});
