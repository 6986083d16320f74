/**
 * reconcile across real OpenSSH hosts on loopback (test/helpers/sshd.ts): a DAG over
 * hosts of powers 1, 2 and 4, a host that dies in the middle of a run, hosts that
 * cannot be reached or whose key is wrong, and a server that allows fewer sessions
 * than the host's power.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { buildsOf, configFiles, readIndex, readLedgerLines, recipe, repoProblems, WRITE_ARTIFACT, type RunDocument } from '../helpers/reconcile-fixture.js';
import { processesUnder, silentServer, startSshFleet, type HostSpec, type SshFleet } from '../helpers/sshd.js';
import { testdir, writeFiles, type Files } from '../helpers/testdir.js';

/** The host's trace file: each build appends `start|end <package> <ns>` (the workspace is <workdir>/work/<branch>/<recipe>-x). */
const TRACE = '"$BUILDFLEET_OUT/../../../../trace"';

function tracedScript(sleepSeconds: number): string {
  return [`echo "start $BUILDFLEET_PACKAGE $(date +%s%N)" >> ${TRACE}`, `sleep ${sleepSeconds}`, WRITE_ARTIFACT, `echo "end $BUILDFLEET_PACKAGE $(date +%s%N)" >> ${TRACE}`].join('\n');
}

/** base <- m01..mNN <- top */
function dag(width: number, sleepSeconds: number): Files {
  const mids = Array.from({ length: width }, (_, i) => `m${String(i + 1).padStart(2, '0')}`);
  let files: Files = { ...recipe('base', { script: tracedScript(sleepSeconds) }), ...recipe('top', { depends: mids, script: tracedScript(sleepSeconds) }) };
  for (const m of mids) files = { ...files, ...recipe(m, { depends: ['base'], script: tracedScript(sleepSeconds) }) };
  return files;
}

interface Interval {
  readonly pkg: string;
  readonly start: number;
  readonly end: number;
}

function trace(workdir: string): Interval[] {
  const file = path.join(workdir, 'trace');
  if (!existsSync(file)) return [];
  const starts = new Map<string, number>();
  const out: Interval[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [kind, pkg, ns] = line.split(' ');
    if (pkg === undefined || ns === undefined) continue;
    if (kind === 'start') starts.set(pkg, Number(ns) / 1e6);
    else if (kind === 'end' && starts.has(pkg)) out.push({ pkg, start: starts.get(pkg)!, end: Number(ns) / 1e6 });
  }
  return out;
}

/** The most builds that overlapped in time. */
function maxConcurrency(intervals: readonly Interval[]): number {
  const events = intervals.flatMap((i) => [
    { t: i.start, d: 1 },
    { t: i.end, d: -1 },
  ]);
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of events) max = Math.max(max, (now += e.d));
  return max;
}

function config(fleet: SshFleet, specs: readonly HostSpec[], extraHosts = '', top = ''): Files {
  const base = configFiles();
  return { ...base, 'hosts.yaml': `${top}hosts:\n${fleet.hostsYaml(specs)}${extraHosts}` };
}

async function fleetFor(options: Parameters<typeof startSshFleet>[0]): Promise<SshFleet> {
  const fleet = await startSshFleet(options);
  onTestFinished(() => fleet.stop());
  return fleet;
}

describe('reconcile over SSH hosts', () => {
  it('builds a DAG across hosts of powers 1, 2 and 4 within each power, spread by power', { timeout: 120_000 }, async () => {
    const fleet = await fleetFor({ hosts: 3 });
    const dir = testdir({ ...config(fleet, [{ power: 1 }, { power: 2 }, { power: 4 }]), ...dag(12, 1) });
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.stderr).not.toMatch(/error|down for this run/);
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as RunDocument;
    const results = doc.branches[0]!.results;
    expect(results.filter((r) => r.status === 'built')).toHaveLength(14);
    expect(readIndex(path.join(dir, 'repos/main'))?.map((e) => e.name).sort()).toHaveLength(14);
    expect(repoProblems(path.join(dir, 'repos/main'))).toEqual([]);
    // top saw the artifacts of its 12 dependencies (and base's): they were uploaded into its deps/.
    const top = readFileSync(path.join(dir, 'repos/main', readIndex(path.join(dir, 'repos/main'))!.find((e) => e.name === 'top')!.file), 'utf8');
    expect(top.trim().split('\n')).toHaveLength(1 + 13);

    const perHost = fleet.hosts.map((h) => trace(h.workdir));
    expect(perHost.map((t) => t.length).reduce((a, b) => a + b)).toBe(14);
    [1, 2, 4].forEach((power, i) => expect(maxConcurrency(perHost[i]!)).toBeLessThanOrEqual(power));
    // The power-4 host ran more builds than the power-1 host, and ran several at once.
    expect(perHost[2]!.length).toBeGreaterThan(perHost[0]!.length);
    expect(maxConcurrency(perHost[2]!)).toBeGreaterThan(1);
    // Dependency order across hosts: top started after every other build ended.
    const all = perHost.flat();
    const topRun = all.find((i) => i.pkg === 'top')!;
    for (const other of all.filter((i) => i.pkg !== 'top')) expect(other.end).toBeLessThanOrEqual(topRun.start);
    // Result hosts match where the builds ran; workspaces are gone on every host.
    for (const [i, h] of fleet.hosts.entries()) {
      const here = new Set(perHost[i]!.map((t) => t.pkg));
      expect(new Set(results.filter((r) => r.host === h.name).map((r) => r.package))).toEqual(here);
      expect(processesUnder(h.workdir)).toEqual([]);
    }
    for (const h of fleet.hosts) {
      const work = path.join(h.workdir, 'work/main');
      expect(existsSync(work) ? readdirSync(work) : []).toEqual([]);
    }
  });

  it('finishes a run in which a host dies: its builds are lost and built elsewhere, none recorded as failed', { timeout: 120_000 }, async () => {
    const fleet = await fleetFor({ hosts: 3 });
    const dir = testdir({ ...config(fleet, [{ power: 1 }, { power: 2 }, { power: 4, extra: ['connectTimeout: 2s'] }]), ...dag(10, 3) });
    const victim = fleet.hosts[2]!;
    const child = spawn(process.execPath, [BIN, '-C', dir, 'reconcile', '--format', 'json'], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // Wait until the power-4 host runs middle builds, then kill its sshd and everything on it.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const lines = existsSync(path.join(victim.workdir, 'trace')) ? readFileSync(path.join(victim.workdir, 'trace'), 'utf8') : '';
      if (/start m\d+/.test(lines)) break;
      if (Date.now() > deadline) throw new Error(`the power-4 host never started a build:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const runningThere = readFileSync(path.join(victim.workdir, 'trace'), 'utf8').split('\n').filter((l) => l.startsWith('start')).map((l) => l.split(' ')[1]!);
    await victim.crash();
    expect(await exited).toBe(0);
    const doc = JSON.parse(stdout) as RunDocument;
    const results = doc.branches[0]!.results;
    expect(results.map((r) => r.status)).toEqual(Array(12).fill('built'));
    expect(stderr).toContain(`host ${victim.name} is down for this run`);
    const ledger = readLedgerLines(path.join(dir, 'var')).records;
    expect(ledger.filter((r) => r.status === 'failed')).toEqual([]);
    const lostRecords = ledger.filter((r) => r.status === 'lost') as (typeof ledger[number] & { host?: string })[];
    expect(lostRecords.map((r) => r.host)).toEqual(lostRecords.map(() => victim.name));
    const lost = lostRecords.map((r) => r.recipe);
    // Every build that had started on the dying host was lost (and more may have been preparing).
    for (const pkg of runningThere.filter((p) => p !== 'base' && !results.some((r) => r.package === p && r.host === victim.name))) expect(lost).toContain(pkg);
    expect(lost.length).toBeGreaterThan(0);
    for (const pkg of lost) {
      expect(results.find((r) => r.package === pkg)?.host).not.toBe(victim.name);
      expect(buildsOf(path.join(dir, 'var'), pkg).at(-1)?.status).toBe('built');
    }
    const health = JSON.parse(readFileSync(path.join(dir, 'var/hosts.json'), 'utf8')) as { hosts: Record<string, { consecutiveFailedRuns: number }> };
    expect(health.hosts[victim.name]?.consecutiveFailedRuns).toBe(1);
    expect(health.hosts[fleet.hosts[0]!.name]?.consecutiveFailedRuns).toBe(0);
  });

  it('runs power 4 on a server allowing 2 sessions per connection (a second connection)', { timeout: 120_000 }, async () => {
    const fleet = await fleetFor({ hosts: 1, maxSessions: 2 });
    const dir = testdir({ ...config(fleet, [{ power: 4 }]), ...dag(6, 1) });
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.stderr).not.toMatch(/trying again|down for this run/);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as RunDocument).branches[0]!.results.every((r) => r.status === 'built')).toBe(true);
    const intervals = trace(fleet.hosts[0]!.workdir);
    expect(intervals).toHaveLength(8);
    expect(maxConcurrency(intervals)).toBeGreaterThan(2);
    expect(maxConcurrency(intervals)).toBeLessThanOrEqual(4);
  });

  it('refuses hosts with an unknown or changed key, and does not wait for unreachable ones; quarantines after repeated failures', { timeout: 120_000 }, async () => {
    const fleet = await fleetFor({ hosts: 2 });
    const [good, rekeyed] = fleet.hosts as [NonNullable<SshFleet['hosts'][0]>, NonNullable<SshFleet['hosts'][0]>];
    await rekeyed.crash();
    await rekeyed.replaceHostKey();
    await rekeyed.start();
    const silent = await silentServer();
    onTestFinished(() => silent.close());
    const unknownKnownHosts = path.join(fleet.dir, 'unknown_known_hosts');
    writeFileSync(unknownKnownHosts, '');
    const extra = [
      // A closed port, a server that never answers, a host whose key is not listed.
      `  - { name: closed, transport: ssh, address: 127.0.0.1, port: 1, user: ${fleet.user}, identityFile: ${fleet.identityFile}, knownHostsFile: ${fleet.knownHostsFile}, power: 2, labels: [linux, x86_64], connectTimeout: 1s }`,
      `  - { name: silent, transport: ssh, address: 127.0.0.1, port: ${silent.port}, user: ${fleet.user}, identityFile: ${fleet.identityFile}, knownHostsFile: ${fleet.knownHostsFile}, power: 2, labels: [linux, x86_64], connectTimeout: 1s }`,
      `  - { name: unknown, transport: ssh, address: ${good.address}, port: ${good.port}, user: ${fleet.user}, identityFile: ${fleet.identityFile}, knownHostsFile: ${unknownKnownHosts}, power: 2, labels: [linux, x86_64] }`,
      '',
    ].join('\n');
    const dir = testdir({ ...config(fleet, [{ power: 1 }, { power: 4 }], extra, 'quarantine: { after: 2, for: 1h }\n'), ...dag(4, 0) });
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as RunDocument).branches[0]!.results.map((r) => `${r.status} ${r.host}`)).toEqual(Array(6).fill(`built ${good.name}`));
    expect(run.stderr).toContain(`has CHANGED`);
    expect(run.stderr).toContain(`ssh-keygen -R '[${rekeyed.address}]:${rekeyed.port}' -f ${fleet.knownHostsFile}`);
    expect(run.stderr).toContain(`is not in ${unknownKnownHosts}`);
    expect(run.stderr).toContain(`ssh-keyscan -p ${good.port} ${good.address} >> ${unknownKnownHosts}`);
    expect(run.stderr).toMatch(/127\.0\.0\.1:1: connect ECONNREFUSED/);
    expect(run.stderr).toContain(`127.0.0.1:${silent.port} did not answer within 1s (connectTimeout)`);

    // A second failed run quarantines the failing hosts: plan and the next run say so and leave them alone.
    writeFiles(dir, recipe('late'));
    expect((await runCli(['-C', dir, 'reconcile'])).code).toBe(0);
    const health = JSON.parse(readFileSync(path.join(dir, 'var/hosts.json'), 'utf8')) as { hosts: Record<string, { consecutiveFailedRuns: number; quarantinedUntil?: string }> };
    for (const name of ['closed', 'silent', 'unknown', rekeyed.name]) {
      expect(health.hosts[name]?.consecutiveFailedRuns).toBe(2);
      expect(health.hosts[name]?.quarantinedUntil).toBeDefined();
    }
    expect(health.hosts[good.name]).toEqual({ consecutiveFailedRuns: 0 });
    const plan = await runCli(['-C', dir, 'plan']);
    expect(plan.stderr).toMatch(/host silent is quarantined until \S+ \(failed in 2 consecutive runs/);
    writeFiles(dir, recipe('later'));
    const third = await runCli(['-C', dir, 'reconcile']);
    expect(third.code).toBe(0);
    expect(third.stderr).toMatch(/host closed is quarantined until/);
    expect(third.stderr).not.toContain('down for this run');
  });
});
