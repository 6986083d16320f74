/**
 * Isolated builds end to end: `reconcile` over a branch whose prerequisite is a
 * real busybox root tarball and whose pipeline says `isolation: overlay`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeBusyboxRootTarball } from '../helpers/busyboxRoot.js';
import { readIndex, recipe, resultSummary, type RunDocument } from '../helpers/reconcile-fixture.js';
import { testdir, writeFiles } from '../helpers/testdir.js';

describe('reconcile with isolation: overlay', () => {
  it('builds in the root of the prerequisite, keeps the root unchanged, and names the limits builds went over', { timeout: 90_000 }, async () => {
    const dir = testdir({});
    const tarball = await makeBusyboxRootTarball(path.join(dir, 'busybox-root.tar.gz'), dir);
    const sha = createHash('sha256').update(readFileSync(tarball)).digest('hex');
    writeFiles(dir, {
      'hosts.yaml': 'hosts:\n  - name: local\n    transport: local\n    power: 2\n',
      'pipelines/isolated.yaml': [
        'isolation: overlay',
        'limits: { memory: 64M, processes: 16 }',
        'steps:',
        '  - name: prepare',
        '    run: echo "prepared by $BUILDFLEET_PACKAGE" > /etc/prepared',
        '  - name: build',
        '    run: ./build.sh',
        '',
      ].join('\n'),
      'branches/main.yaml': `source:\n  path: recipes\n  format: recipe\npipeline: isolated\nprerequisites:\n  - name: base\n    path: busybox-root.tar.gz\n    sha256: ${sha}\nrepos:\n  - name: main\n    path: repos/main\n    format: plain\n`,
      // Sees the root, its own earlier step, not the host; writes into /usr.
      ...recipe('base', { script: 'echo base > /usr/base-was-here\n{ head -1 /etc/os-release; cat /etc/prepared; ls /usr; pwd; } > "$BUILDFLEET_OUT/base-1.0-1.txt"' }),
      // Built after base, on the same root: sees base's artifact in /deps, none of base's writes.
      ...recipe('app', { depends: ['base'], script: '{ ls /deps; ls /usr; cat /etc/prepared; } > "$BUILDFLEET_OUT/app-1.0-1.txt"' }),
      ...recipe('greedy', { script: 'dd if=/dev/zero of=/dev/null bs=200M count=1' }),
      ...recipe('forky', { script: 'for i in $(seq 40); do sleep 1 & done; wait' }),
    });
    // What a run killed (-9) in the middle of a limited build leaves: its workspace and its (empty) build cgroups.
    mkdirSync(path.join(dir, 'var/main/work/lost-Ab12Cd/build'), { recursive: true });
    const staleCgroups = ['memory', 'pids'].map((c) => path.join(ownCgroup(c), 'buildfleet-lost-Ab12Cd'));
    for (const d of staleCgroups) mkdirSync(d);
    onTestFinished(() => staleCgroups.forEach((d) => existsSync(d) && rmdirSync(d)));
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.stderr).toContain('removed 1 workspace(s) left by a run that died');
    for (const d of staleCgroups) expect(existsSync(d), d).toBe(false);
    expect(run.code, run.stderr).toBe(3);
    const doc = JSON.parse(run.stdout) as RunDocument;
    expect(resultSummary(doc)).toEqual(['app built', 'base built', 'forky failed', 'greedy failed']);
    // This machine gives builds cgroups (v1 memory and pids, as root): the OOM killer ends dd; the fork limit holds for root.
    const greedy = doc.branches[0]!.results.find((r) => r.package === 'greedy')!;
    expect(greedy.detail).toBe('out of memory: limit 64M (limits.memory): the step exited with status 137');
    expect(doc.branches[0]!.results.find((r) => r.package === 'forky')!.detail).toMatch(/^too many processes: limit 16 \(limits\.processes\): the step exited with status \d+$/);
    expect(readFileSync(greedy.log!, 'utf8')).toContain('buildfleet: build out of memory: limit 64M (limits.memory)');

    const repo = path.join(dir, 'repos/main');
    const text = (name: string): string => readFileSync(path.join(repo, readIndex(repo)!.find((e) => e.name === name)!.file), 'utf8');
    expect(text('base')).toBe('NAME="buildfleet busybox root"\nprepared by base\nbase-was-here\nbin\n/build\n');
    expect(text('app')).toBe(`${readIndex(repo)!.find((e) => e.name === 'base')!.file}\nbin\nprepared by app\n`);
    // The extracted root itself never changed.
    const roots = path.join(dir, 'var/roots/main');
    const [key] = readdirSync(roots).filter((k) => !k.startsWith('.'));
    expect(readdirSync(path.join(roots, key!, 'usr'))).toEqual(['bin']);
    expect(readdirSync(path.join(roots, key!, 'etc'))).toEqual(['os-release']);
  });
});

/** This process's cgroup directory in the cgroup v1 hierarchy of `controller` (the CLI it starts is in the same). */
function ownCgroup(controller: string): string {
  const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes(controller));
  return path.join('/sys/fs/cgroup', controller, line!.split(':')[2]!);
}
