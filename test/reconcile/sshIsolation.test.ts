/**
 * Isolated builds on an SSH host (real sshd on loopback, test/helpers/sshd.ts): the
 * same command line as locally, over the branch's root installed on the host.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeBusyboxRootTarball } from '../helpers/busyboxRoot.js';
import { readIndex, recipe, resultSummary, type RunDocument } from '../helpers/reconcile-fixture.js';
import { startSshFleet } from '../helpers/sshd.js';
import { testdir, writeFiles, type Files } from '../helpers/testdir.js';

describe('isolation: overlay on an SSH host', () => {
  it('isolates builds there: the root unchanged, two builds at once apart, network only where asked, memory and process limits named', { timeout: 120_000 }, async () => {
    const fleet = await startSshFleet({ hosts: 1 });
    onTestFinished(() => fleet.stop());
    const server = createServer((socket) => socket.end('hello from the host\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;
    // A barrier on the host's loopback for the twins: it answers once both have connected, that
    // is once both have written their files, so that each then looks while the other runs.
    const waiting: Socket[] = [];
    const barrier = createServer({ allowHalfOpen: true }, (socket) => {
      waiting.push(socket);
      if (waiting.length === 2) for (const s of waiting) s.end('go\n');
    });
    await new Promise<void>((resolve) => barrier.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => barrier.close(() => resolve())));
    const barrierPort = (barrier.address() as { port: number }).port;
    const twin = (name: string): Files => ({
      [`recipes/${name}/twin.sh`]: { mode: 0o755, content: `#!/bin/sh\nset -eu\necho ${name} > /etc/mine-${name}\necho ${name} > /tmp/mine-${name}\nnc -w 60 127.0.0.1 ${barrierPort} </dev/null > /tmp/go\ngrep -q go /tmp/go\n` },
      ...recipe(name, { script: `rm /out/offline.txt /out/online.txt\n{ ls /etc; ls /tmp; } > /out/${name}-1.0-1.txt` }),
    });

    const dir = testdir({});
    const tarball = await makeBusyboxRootTarball(path.join(dir, 'busybox-root.tar.gz'), dir);
    const sha = createHash('sha256').update(readFileSync(tarball)).digest('hex');
    const connect = (file: string): string => `nc 127.0.0.1 ${port} > /out/${file} 2>&1 || echo "connect failed" > /out/${file}`;
    writeFiles(dir, {
      'hosts.yaml': `hosts:\n${fleet.hostsYaml([{ power: 2 }])}`,
      'pipelines/isolated.yaml': [
        'isolation: overlay',
        'limits: { memory: 64M, processes: 16 }',
        'steps:',
        '  - name: offline',
        `    run: echo offline > /usr/offline; ${connect('offline.txt')}`,
        '  - name: online',
        `    run: ${JSON.stringify(`${connect('online.txt')}; [ ! -x ./twin.sh ] || ./twin.sh`)}`,
        '    network: true',
        '  - name: build',
        '    run: ./build.sh',
        '',
      ].join('\n'),
      'branches/main.yaml': `source:\n  path: recipes\n  format: recipe\npipeline: isolated\nprerequisites:\n  - name: base\n    path: busybox-root.tar.gz\n    sha256: ${sha}\nrepos:\n  - name: main\n    path: repos/main\n    format: plain\n`,
      ...recipe('probe', { script: '{ cat /out/offline.txt /out/online.txt; ls /usr; head -1 /etc/os-release; pwd; } > /out/probe-1.0-1.txt; rm /out/offline.txt /out/online.txt' }),
      ...recipe('greedy', { script: 'dd if=/dev/zero of=/dev/null bs=200M count=1' }),
      ...recipe('forky', { script: 'for i in $(seq 40); do sleep 1 & done; wait' }),
      ...twin('twin-a'),
      ...twin('twin-b'),
    });
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.code, run.stderr).toBe(3);
    const doc = JSON.parse(run.stdout) as RunDocument;
    expect(resultSummary(doc)).toEqual(['forky failed', 'greedy failed', 'probe built', 'twin-a built', 'twin-b built']);
    const results = doc.branches[0]!.results;
    expect(results.every((r) => r.host === 'h1')).toBe(true);
    // The SSH user is root with cgroups (v1) on this machine: the OOM killer ends dd, and the fork limit holds for root.
    expect(results.find((r) => r.package === 'greedy')!.detail).toBe('out of memory: limit 64M (limits.memory): the step was killed by SIGKILL');
    expect(results.find((r) => r.package === 'forky')!.detail).toMatch(/^too many processes: limit 16 \(limits\.processes\): the step exited with status \d+$/);
    const repo = path.join(dir, 'repos/main');
    const entry = readIndex(repo)!.find((e) => e.name === 'probe')!;
    expect(readFileSync(path.join(repo, entry.file), 'utf8')).toBe('connect failed\nhello from the host\nbin\noffline\nNAME="buildfleet busybox root"\n/build\n');
    // Two builds at once on one root: each sees its own writes to /etc and /tmp, not the other's.
    for (const name of ['twin-a', 'twin-b']) {
      const twinEntry = readIndex(repo)!.find((e) => e.name === name)!;
      expect(readFileSync(path.join(repo, twinEntry.file), 'utf8')).toBe(`mine-${name}\nos-release\ngo\nmine-${name}\n`);
    }
    // The root installed on the host never changed.
    const roots = path.join(fleet.hosts[0]!.workdir, 'roots/main');
    const [key] = readdirSync(roots).filter((k) => !k.startsWith('.'));
    expect(readdirSync(path.join(roots, key!, 'usr'))).toEqual(['bin']);
    expect(readdirSync(path.join(roots, key!, 'etc'))).toEqual(['os-release']);
  });
});
