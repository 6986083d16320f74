/**
 * A run killed (kill -9) while it builds on an SSH host leaves its workspace there,
 * and whatever the build started outside its process group keeps running. The next
 * run, before its first build on that host, kills those processes and removes the
 * workspace — but leaves alone kept workspaces and those of another controller
 * sharing the workdir. Real sshd on loopback (test/helpers/sshd.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { configFiles, recipe, WRITE_ARTIFACT, type RunDocument } from '../helpers/reconcile-fixture.js';
import { startSshFleet } from '../helpers/sshd.js';
import { testdir } from '../helpers/testdir.js';

/** The workspace is <workdir>/work/<branch>/<recipe>-x. */
const WD = '"$BUILDFLEET_OUT/../../../.."';

/**
 * First run: two processes escape the step's process group (setsid) — one working in
 * the workspace, one in / (found by its BUILDFLEET_OUT) — then the step sleeps until
 * the run is killed. Later runs just build.
 */
const SCRIPT = [
  `if [ ! -e ${WD}/first-run-killed ]; then`,
  `  setsid sh -c 'echo $$ > "$1/escaped-in-workspace.pid"; exec sleep 300' sh ${WD} </dev/null >/dev/null 2>&1 &`,
  `  setsid sh -c 'echo $$ > "$1/escaped-elsewhere.pid"; cd /; exec sleep 301' sh ${WD} </dev/null >/dev/null 2>&1 &`,
  `  while [ ! -s ${WD}/escaped-in-workspace.pid ] || [ ! -s ${WD}/escaped-elsewhere.pid ]; do sleep 0.1; done`,
  `  touch ${WD}/started`,
  '  sleep 300',
  'fi',
  WRITE_ARTIFACT,
].join('\n');

/** Alive and not a zombie (Linux /proc). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('workspaces left on an SSH host by a run that died', () => {
  it('are cleaned by the next run: leftover processes killed, workspace removed; kept and foreign ones stay', { timeout: 120_000 }, async () => {
    const fleet = await startSshFleet({ hosts: 1 });
    onTestFinished(() => fleet.stop());
    const host = fleet.hosts[0]!;
    const dir = testdir({ ...configFiles(), 'hosts.yaml': `hosts:\n${fleet.hostsYaml([{ power: 2 }])}`, ...recipe('slow', { script: SCRIPT }) });
    // A workspace kept on purpose, and one of another controller sharing the workdir.
    const kept = path.join(host.workdir, 'work/main/kept-0001');
    const foreign = path.join(host.workdir, 'work/main/other-0002');
    mkdirSync(kept, { recursive: true });
    writeFileSync(path.join(kept, '.buildfleet-kept'), 'kept after a failure\n');
    mkdirSync(foreign, { recursive: true });
    writeFileSync(path.join(foreign, '.buildfleet-owner'), '0123456789abcdef 20260101T000000Z-abcdef\n');

    const child = spawn(process.execPath, [BIN, '-C', dir, 'reconcile'], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, stdio: ['ignore', 'ignore', 'pipe'] });
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const deadline = Date.now() + 60_000;
    while (!existsSync(path.join(host.workdir, 'started'))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the build never started:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    writeFileSync(path.join(host.workdir, 'first-run-killed'), '');
    const escaped = ['escaped-in-workspace.pid', 'escaped-elsewhere.pid'].map((f) => Number(readFileSync(path.join(host.workdir, f), 'utf8').trim()));
    onTestFinished(() => {
      for (const pid of escaped) if (alive(pid)) process.kill(pid, 'SIGKILL');
    });
    expect(escaped.map(alive)).toEqual([true, true]);
    const left = readdirSync(path.join(host.workdir, 'work/main')).filter((d) => d.startsWith('slow-'));
    expect(left).toHaveLength(1);

    const next = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(next.code, next.stderr).toBe(0);
    expect((JSON.parse(next.stdout) as RunDocument).branches[0]!.results.map((r) => `${r.package} ${r.status} ${r.host}`)).toEqual(['slow built h1']);
    expect(next.stderr).toMatch(/host h1: removed 1 workspace\(s\) left by a run that died, and killed [2-9]\d* process\(es\) still running in them/);
    expect(escaped.map(alive)).toEqual([false, false]);
    expect(readdirSync(path.join(host.workdir, 'work/main')).sort()).toEqual(['kept-0001', 'other-0002']);

    // Nothing left to clean: the next run says nothing about it.
    const third = await runCli(['-C', dir, 'reconcile']);
    expect(third.code).toBe(0);
    expect(third.stderr).not.toContain('left by a run that died');
  });
});
