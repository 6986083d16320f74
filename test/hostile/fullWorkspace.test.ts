/**
 * Builds that fill the disk of their workspace. The directories where the local
 * host makes workspaces (`<state>/<branch>/work`) are small tmpfs mounts (the
 * tests run as root), the state (ledger, logs) and the repos elsewhere. A build
 * writing until ENOSPC fails with the reason in its result and log, its workspace
 * is removed, the other builds of the run and the next run build, and the state
 * and repos are untouched. With `isolation: overlay` the overlay's upper layer
 * lives in the workspace: filling it ends the same way; `limits.output` stops a
 * single large file first. A prerequisite root that does not fit leaves nothing;
 * an SSH host's workdir filled by a build ends as locally.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { makeBusyboxRootTarball } from '../helpers/busyboxRoot.js';
import { runCli } from '../helpers/cli.js';
import { listTree } from '../helpers/hostile.js';
import { startSshFleet } from '../helpers/sshd.js';
import { readIndex, readLedgerLines, recipe, repoProblems, resultSummary, type RunDocument } from '../helpers/reconcile-fixture.js';
import { rawTar } from '../helpers/tarballs.js';
import { testdir, writeFiles, type Files } from '../helpers/testdir.js';

/** Size of each workspace tmpfs. */
const WORKDIR_SIZE = '8m';

/** Mounts a tmpfs on `dir` (made); the reason when the system refuses. */
function mountTmpfs(dir: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${WORKDIR_SIZE}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status !== 0) return `mount -t tmpfs refused: ${(mounted.stderr || mounted.error?.message || `status ${mounted.status}`).trim()}`;
  onTestFinished(() => void spawnSync('umount', ['-l', dir]));
  return undefined;
}

/** recipe() files moved under another source tree. */
function under(tree: string, files: Files): Files {
  return Object.fromEntries(Object.entries(files).map(([p, c]) => [p.replace(/^recipes\//, `${tree}/`), c]));
}

function branch(tree: string, pipeline: string, prerequisite = ''): string {
  return `source:\n  path: ${tree}\n  format: recipe\npipeline: ${pipeline}\n${prerequisite}repos:\n  - name: ${tree}\n    path: repos/${tree}\n    format: plain\n`;
}

/** `package status: detail` of every result, by branch, sorted. */
function summary(doc: RunDocument): string[] {
  return doc.branches.flatMap((b) => b.results.map((r) => `${b.name}/${r.package} ${r.status}${r.reason !== undefined ? ` ${r.reason}` : ''}${r.detail !== undefined && r.status === 'failed' ? `: ${r.detail}` : ''}`)).sort();
}

describe('builds filling the disk of their workspace', () => {
  it('fail with "disk full", lose their workspace and nothing else; the other builds and the next run build', { timeout: 120_000 }, async (ctx) => {
    const dir = testdir({});
    const state = path.join(dir, 'var');
    for (const tree of ['plain', 'iso']) {
      const refused = mountTmpfs(path.join(state, tree, 'work'));
      if (refused !== undefined) ctx.skip(refused);
    }
    const tarball = await makeBusyboxRootTarball(path.join(dir, 'busybox-root.tar.gz'), path.join(dir, 'scratch'));
    rmSync(path.join(dir, 'scratch'), { recursive: true });
    const sha = createHash('sha256').update(readFileSync(tarball)).digest('hex');
    writeFiles(dir, {
      'hosts.yaml': 'hosts:\n  - name: local\n    transport: local\n    power: 1\n',
      'pipelines/shell.yaml': 'steps:\n  - name: build\n    run: ./build.sh\n    timeout: 1m\n',
      'pipelines/isolated.yaml': 'isolation: overlay\nlimits: { output: 4M }\nsteps:\n  - name: build\n    run: ./build.sh\n    timeout: 1m\n',
      'branches/plain.yaml': branch('plain', 'shell'),
      'branches/iso.yaml': branch('iso', 'isolated', `prerequisites:\n  - name: base\n    path: busybox-root.tar.gz\n    sha256: ${sha}\n`),
      // Without isolation: one file until the disk is full (GNU dd).
      ...under('plain', recipe('fill', { script: 'dd if=/dev/zero of=big bs=1M count=64' })),
      ...under('plain', recipe('ok')),
      // Isolated: many files below the output limit, into the overlay's upper layer (busybox dd).
      ...under('iso', recipe('fill', { script: 'i=0\nwhile [ $i -lt 64 ]; do i=$((i + 1)); dd if=/dev/zero of=/usr/f$i bs=1M count=1; done' })),
      // Isolated: one file larger than limits.output (and than the disk).
      ...under('iso', recipe('huge', { script: 'dd if=/dev/zero of=/tmp/huge bs=1M count=16' })),
      ...under('iso', recipe('ok')),
    });

    const first = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(first.code, first.stderr).toBe(3);
    const doc = JSON.parse(first.stdout) as RunDocument;
    expect(summary(doc)).toEqual([
      'iso/fill failed: disk full ("No space left on device" in the build\'s output): the step exited with status 1',
      'iso/huge failed: output too large: limit 4M (limits.output): the step exited with status 153',
      'iso/ok built',
      'plain/fill failed: disk full ("No space left on device" in the build\'s output): the step exited with status 1',
      'plain/ok built',
    ]);
    for (const b of doc.branches) {
      const fill = b.results.find((r) => r.package === 'fill')!;
      const log = readFileSync(fill.log!, 'utf8');
      expect(log).toContain('No space left on device');
      expect(log).toContain('buildfleet: build disk full ("No space left on device" in the build\'s output)');
    }
    const checkState = (tree: string, packages: readonly string[]): void => {
      // The workspaces are gone and their disk is empty again.
      const work = path.join(state, tree, 'work');
      expect(readdirSync(work), tree).toEqual([]);
      const fs = statfsSync(work);
      expect(fs.bfree, `${tree}: blocks still used after the run`).toBe(fs.blocks);
      expect(repoProblems(path.join(dir, 'repos', tree))).toEqual([]);
      expect(readIndex(path.join(dir, 'repos', tree))!.map((e) => e.name)).toEqual(packages);
    };
    checkState('plain', ['ok']);
    checkState('iso', ['ok']);
    expect(readLedgerLines(state).unparsable).toEqual([]);
    expect(readLedgerLines(state).tornTail).toBeNull();

    // The next run: a new package builds in the emptied workspaces; the failed ones are not retried unchanged.
    writeFiles(dir, { ...under('plain', recipe('later')), ...under('iso', recipe('later')) });
    const second = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    // 3: the failed packages are still not built (DESIGN.md), though nothing failed in this run.
    expect(second.code, second.stderr).toBe(3);
    expect(summary(JSON.parse(second.stdout) as RunDocument)).toEqual([
      'iso/fill skipped failed-unchanged',
      'iso/huge skipped failed-unchanged',
      'iso/later built',
      'plain/fill skipped failed-unchanged',
      'plain/later built',
    ]);
    checkState('plain', ['later', 'ok']);
    checkState('iso', ['later', 'ok']);
  });

  it('a prerequisite root that does not fit leaves no partial root; the next run with room extracts it and builds', { timeout: 60_000 }, async (ctx) => {
    const dir = testdir({});
    const roots = path.join(dir, 'var/roots/main');
    const refused = mountTmpfs(roots);
    if (refused !== undefined) ctx.skip(refused);
    // 12 MiB of files (a few KiB of gzip) into an 8 MiB filesystem.
    const entries = [{ path: './', type: 'Directory' as const }, ...Array.from({ length: 12 }, (_, i) => ({ path: `./lib${i}.so`, content: 'x'.repeat(1024 * 1024) }))];
    writeFileSync(path.join(dir, 'base.tar.gz'), rawTar(entries, { gzip: true }));
    const sha = createHash('sha256').update(readFileSync(path.join(dir, 'base.tar.gz'))).digest('hex');
    writeFiles(dir, {
      'hosts.yaml': 'hosts:\n  - name: local\n    transport: local\n    power: 1\n',
      'pipelines/shell.yaml': 'steps:\n  - name: build\n    run: ./build.sh\n    timeout: 1m\n',
      'branches/main.yaml': `source:\n  path: recipes\n  format: recipe\npipeline: shell\nprerequisites:\n  - name: base\n    path: base.tar.gz\n    sha256: ${sha}\nrepos:\n  - name: main\n    path: repos/main\n    format: plain\n`,
      ...recipe('app', { script: 'test "$(ls "$BUILDFLEET_ROOT" | wc -l)" = 12\necho ok > "$BUILDFLEET_OUT/app-1.0-1.txt"' }),
    });
    const full = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(full.code, full.stderr).toBe(3);
    expect(full.stderr).toContain('could not install the prerequisites of branch main on host local: extracting failed');
    expect(full.stderr).toContain('No space left on device');
    expect(resultSummary(JSON.parse(full.stdout) as RunDocument)).toEqual(['app skipped no-eligible-host']);
    // No root, no unfinished extraction, the disk empty again.
    expect(readdirSync(roots)).toEqual([]);
    const fs = statfsSync(roots);
    expect(fs.bfree).toBe(fs.blocks);

    spawnSync('umount', ['-l', roots]);
    const roomy = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(roomy.code, roomy.stderr).toBe(0);
    expect(resultSummary(JSON.parse(roomy.stdout) as RunDocument)).toEqual(['app built']);
    expect(readdirSync(roots)).toEqual([sha]);
  });

  it('over SSH: a build filling the host\'s workdir fails with "disk full", its workspace goes, the next build there builds', { timeout: 90_000 }, async (ctx) => {
    const fleet = await startSshFleet({ hosts: 1 });
    onTestFinished(() => fleet.stop());
    const workdir = fleet.hosts[0]!.workdir;
    const refused = mountTmpfs(workdir);
    if (refused !== undefined) ctx.skip(refused);
    const dir = testdir({
      'hosts.yaml': `hosts:\n${fleet.hostsYaml([{ power: 1 }])}`,
      'pipelines/shell.yaml': 'steps:\n  - name: build\n    run: ./build.sh\n    timeout: 1m\n',
      'branches/main.yaml': 'source:\n  path: recipes\n  format: recipe\npipeline: shell\nrepos:\n  - name: main\n    path: repos/main\n    format: plain\n',
      ...recipe('fill', { script: 'dd if=/dev/zero of=big bs=1M count=64' }),
      ...recipe('ok'),
    });
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.code, run.stderr).toBe(3);
    const doc = JSON.parse(run.stdout) as RunDocument;
    expect(summary(doc)).toEqual(['main/fill failed: disk full ("No space left on device" in the build\'s output): the step exited with status 1', 'main/ok built']);
    expect(readFileSync(doc.branches[0]!.results.find((r) => r.package === 'fill')!.log!, 'utf8')).toContain('No space left on device');
    // No workspace, no file left on the host's disk.
    expect(listTree(workdir).filter((p) => !p.endsWith('/'))).toEqual([]);
    expect(repoProblems(path.join(dir, 'repos/main'))).toEqual([]);
  });
});
