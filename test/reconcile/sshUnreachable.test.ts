/**
 * A host unreachable from the start (a server that accepts TCP and never answers)
 * does not hold the run back: the other hosts build at once, the builds handed to it
 * go elsewhere when its connect timeout expires, and it counts as failed for the run.
 * Real sshd on loopback for the good host.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { configFiles, recipe, WRITE_ARTIFACT, type RunDocument } from '../helpers/reconcile-fixture.js';
import { silentServer, startSshFleet } from '../helpers/sshd.js';
import { testdir, type Files } from '../helpers/testdir.js';

const TRACE = '"$BUILDFLEET_OUT/../../../../trace"';

describe('a host unreachable from the start', () => {
  it('does not hold back the other hosts: they build before its connect timeout expires, then take its builds', { timeout: 120_000 }, async () => {
    const fleet = await startSshFleet({ hosts: 1 });
    onTestFinished(() => fleet.stop());
    const silent = await silentServer();
    onTestFinished(() => silent.close());
    const names = ['p1', 'p2', 'p3', 'p4', 'p5'];
    let files: Files = {};
    for (const n of names) files = { ...files, ...recipe(n, { script: `echo "start $BUILDFLEET_PACKAGE $(date +%s%N)" >> ${TRACE}\n${WRITE_ARTIFACT}` }) };
    // The good host has 4 slots, the silent one 1: four builds go to the good host and one to the silent host at once.
    const silentHost = `  - { name: silent, transport: ssh, address: 127.0.0.1, port: ${silent.port}, user: ${fleet.user}, identityFile: ${fleet.identityFile}, knownHostsFile: ${fleet.knownHostsFile}, power: 1, labels: [linux, x86_64], connectTimeout: 20s }\n`;
    const dir = testdir({ ...configFiles(), 'hosts.yaml': `hosts:\n${fleet.hostsYaml([{ power: 4 }])}${silentHost}`, ...files });

    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json', '--log-format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as RunDocument).branches[0]!.results.map((r) => `${r.package} ${r.status} ${r.host}`)).toEqual(names.map((n) => `${n} built h1`));
    const down = run.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { time: number; msg: string })
      .find((l) => l.msg.startsWith('host silent is down for this run'));
    expect(down?.msg).toContain('did not answer within 20s (connectTimeout); its builds go to other hosts');
    // Four builds started on the good host while the silent host's connection attempt was still pending.
    const file = path.join(fleet.hosts[0]!.workdir, 'trace');
    const starts = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => Number(l.split(' ')[2]) / 1e6) : [];
    expect(starts).toHaveLength(5);
    expect(starts.filter((t) => t < down!.time)).toHaveLength(4);
    const health = JSON.parse(readFileSync(path.join(dir, 'var/hosts.json'), 'utf8')) as { hosts: Record<string, { consecutiveFailedRuns: number }> };
    expect(health.hosts.silent?.consecutiveFailedRuns).toBe(1);
    expect(health.hosts.h1?.consecutiveFailedRuns).toBe(0);
  });
});
