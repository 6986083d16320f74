/** `buildfleet hosts` against real sshd servers, a closed port, the local host and a quarantine on record. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { configFiles, recipe } from '../helpers/reconcile-fixture.js';
import { startSshFleet } from '../helpers/sshd.js';
import { testdir } from '../helpers/testdir.js';

interface HostsDoc {
  formatVersion: number;
  runInProgress: boolean;
  hosts: { name: string; reachable: boolean; error?: string; power: number; load?: number[]; latencyMs?: number; running: number; roots: string[]; isolation?: { overlay: boolean; user?: string; reason?: string }; quarantine?: { until: string; failedRuns: number } }[];
}

describe('buildfleet hosts', () => {
  it('reports reachability, load, roots, isolation and quarantine; exit 3 when a host is down', { timeout: 60_000 }, async () => {
    const fleet = await startSshFleet({ hosts: 2 });
    onTestFinished(() => fleet.stop());
    mkdirSync(path.join(fleet.hosts[0]!.workdir, 'roots/main/0123abcd'), { recursive: true });
    const closed = `  - { name: closed, transport: ssh, address: 127.0.0.1, port: 1, user: ${fleet.user}, identityFile: ${fleet.identityFile}, knownHostsFile: ${fleet.knownHostsFile}, power: 3, connectTimeout: 2s }\n`;
    const dir = testdir({
      ...configFiles(),
      ...recipe('zlib'),
      'hosts.yaml': `quarantine: { after: 2, for: 6h }\nhosts:\n  - { name: local, transport: local, power: 2, labels: [linux, x86_64] }\n${fleet.hostsYaml([{ power: 1 }, { power: 4 }])}${closed}`,
    });
    const until = new Date(Date.now() + 3600_000).toISOString();
    mkdirSync(path.join(dir, 'var'), { recursive: true });
    writeFileSync(path.join(dir, 'var/hosts.json'), JSON.stringify({ formatVersion: 1, hosts: { closed: { consecutiveFailedRuns: 2, quarantinedUntil: until, lastFailure: { at: until, runId: 'r', message: 'connect ECONNREFUSED' } } } }));

    const json = await runCli(['-C', dir, 'hosts', '--format', 'json']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(3);
    const doc = JSON.parse(json.stdout) as HostsDoc;
    expect(doc.runInProgress).toBe(false);
    expect(doc.hosts.map((h) => `${h.name} ${h.reachable} ${h.power} ${h.running}`)).toEqual(['local true 2 0', 'h1 true 1 0', 'h2 true 4 0', 'closed false 3 0']);
    const [local, h1, h2, down] = doc.hosts;
    expect(h1!.roots).toEqual(['main/0123abcd']);
    expect(h2!.roots).toEqual([]);
    for (const h of [local!, h1!, h2!]) {
      expect(h.load).toHaveLength(3);
      expect(h.latencyMs).toBeGreaterThanOrEqual(0);
      // The tests' hosts have unshare, overlayfs and bwrap (the isolation tests run on them too).
      expect(h.isolation?.overlay, JSON.stringify(h.isolation)).toBe(true);
    }
    expect(down!.isolation).toBeUndefined();
    expect(down!.error).toMatch(/ECONNREFUSED/);
    expect(down!.quarantine).toMatchObject({ until, failedRuns: 2 });

    const text = await runCli(['-C', dir, 'hosts']);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/^HOST +ADDRESS +POWER +STATE +LATENCY +LOAD +RUNNING +ROOTS +ISOLATION +QUARANTINE$/m);
    expect(text.stdout).toMatch(new RegExp(`^closed +${fleet.user}@127\\.0\\.0\\.1:1 +3 +DOWN +- +- +0 +0 +- +until ${until.replace(/\./g, '\\.')}$`, 'm'));
    expect(text.stdout).toContain('h1: root main/0123abcd');
    expect(text.stdout).toMatch(/^h2 +\S+ +4 +up +\d+ ms +\d+\.\d\d +0 +0 +overlay +no$/m);
    expect(text.stdout).toMatch(/^h2: isolation overlay \(as /m);
  });
});
