/**
 * `maxLoad` over real sshd: a host above its load threshold gets no new builds, and a
 * run whose every host is loaded waits (and says so) until a load drops.
 *
 * Loopback hosts share this machine's load, so each test host reads its load from a
 * file in its workdir through the documented `loadFile` key (default /proc/loadavg):
 * the reading goes over the run's SSH connection like any other, only the file differs.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { configFiles, recipe, WRITE_ARTIFACT, type RunDocument } from '../helpers/reconcile-fixture.js';
import { startSshFleet, type SshFleet } from '../helpers/sshd.js';
import { testdir, type Files } from '../helpers/testdir.js';

/** Each build appends its package to the host's `builds` file (the workspace is <workdir>/work/<branch>/<recipe>-x). */
const RECORD = 'echo "$BUILDFLEET_PACKAGE" >> "$BUILDFLEET_OUT/../../../../builds"';

function recipes(names: readonly string[]): Files {
  let files: Files = {};
  for (const n of names) files = { ...files, ...recipe(n, { script: `${RECORD}\n${WRITE_ARTIFACT}` }) };
  return files;
}

function builtOn(workdir: string): string[] {
  const file = path.join(workdir, 'builds');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').sort() : [];
}

function setLoad(fleet: SshFleet, i: number, load: number): void {
  writeFileSync(path.join(fleet.hosts[i]!.workdir, 'loadavg'), `${load.toFixed(2)} ${load.toFixed(2)} ${load.toFixed(2)} 1/100 4242\n`);
}

function loadKeys(fleet: SshFleet, i: number, maxLoad: number): string[] {
  return [`maxLoad: ${maxLoad}`, 'loadCheckInterval: 1s', `loadFile: ${path.join(fleet.hosts[i]!.workdir, 'loadavg')}`];
}

async function fleetFor(hosts: number): Promise<SshFleet> {
  const fleet = await startSshFleet({ hosts });
  onTestFinished(() => fleet.stop());
  return fleet;
}

describe('maxLoad on SSH hosts', () => {
  it('gives no builds to a host above its maxLoad; `hosts` shows the load and the threshold', { timeout: 60_000 }, async () => {
    const fleet = await fleetFor(2);
    setLoad(fleet, 0, 7);
    const names = ['a', 'b', 'c', 'd'];
    const dir = testdir({ ...configFiles(), 'hosts.yaml': `hosts:\n${fleet.hostsYaml([{ power: 4, extra: loadKeys(fleet, 0, 3) }, { power: 1 }])}`, ...recipes(names) });
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json', '--log-format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const results = (JSON.parse(run.stdout) as RunDocument).branches[0]!.results;
    expect(results.map((r) => `${r.package} ${r.status} ${r.host}`)).toEqual(names.map((n) => `${n} built h2`));
    expect(builtOn(fleet.hosts[0]!.workdir)).toEqual([]);
    expect(builtOn(fleet.hosts[1]!.workdir)).toEqual(names);
    const notes = run.stderr.split('\n').filter((l) => l.includes('"event":"host-load"'));
    expect(notes).toHaveLength(1);
    expect(JSON.parse(notes[0]!)).toMatchObject({ host: 'h1', load: 7, maxLoad: 3, full: true, msg: 'host h1: load 7 is above maxLoad 3; no new builds there until it drops' });

    const hosts = await runCli(['-C', dir, 'hosts', '--format', 'json']);
    expect(hosts.code).toBe(0);
    const doc = JSON.parse(hosts.stdout) as { hosts: { name: string; load?: number[]; maxLoad?: number }[] };
    expect(doc.hosts.map((h) => [h.name, h.load?.[0], h.maxLoad])).toEqual([['h1', 7, 3], ['h2', expect.any(Number), undefined]]);
    expect((await runCli(['-C', dir, 'hosts'])).stdout).toMatch(/^h1 +\S+ +4 +up +\d+ ms +7\.00 \(max 3\) +0 /m);
  });

  it('waits while every host is above its maxLoad, says so, and builds once a load drops', { timeout: 60_000 }, async () => {
    const fleet = await fleetFor(2);
    setLoad(fleet, 0, 9);
    setLoad(fleet, 1, 5);
    const dir = testdir({
      ...configFiles(),
      'hosts.yaml': `hosts:\n${fleet.hostsYaml([{ power: 2, extra: loadKeys(fleet, 0, 4) }, { power: 2, extra: loadKeys(fleet, 1, 4) }])}`,
      ...recipes(['a', 'b', 'c']),
    });
    const child = spawn(process.execPath, [BIN, '-C', dir, 'reconcile', '--format', 'json', '--log-format', 'json'], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 30_000;
    while (!stderr.includes('"event":"waiting-for-load"')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the run never said it waits:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Several load intervals pass: nothing is built while both hosts are loaded, and the run is still there.
    await new Promise((r) => setTimeout(r, 2500));
    expect(child.exitCode).toBeNull();
    expect([...builtOn(fleet.hosts[0]!.workdir), ...builtOn(fleet.hosts[1]!.workdir)]).toEqual([]);
    setLoad(fleet, 1, 0.5);
    expect(await exited).toBe(0);
    const results = (JSON.parse(stdout) as RunDocument).branches[0]!.results;
    expect(results.map((r) => `${r.package} ${r.status} ${r.host}`)).toEqual(['a built h2', 'b built h2', 'c built h2']);
    const waiting = stderr.split('\n').filter((l) => l.includes('"event":"waiting-for-load"')).map((l) => JSON.parse(l) as { msg: string; hosts: unknown });
    // Said once for the whole wait, naming both hosts' loads.
    expect(waiting).toHaveLength(1);
    expect(waiting[0]!.hosts).toEqual([
      { host: 'h1', load: 9, maxLoad: 4 },
      { host: 'h2', load: 5, maxLoad: 4 },
    ]);
    expect(waiting[0]!.msg).toContain('every host that could take the remaining builds is above its maxLoad (h1 9 > 4, h2 5 > 4)');
    expect(stderr).toContain('host h2: load 0.5, builds resume there');
  });
});
