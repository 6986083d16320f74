/**
 * Prerequisites on the local host, end to end through the real CLI: a tarball made
 * here is verified, extracted into <state>/roots/<branch>/<sha256>/, seen by builds
 * as BUILDFLEET_ROOT, re-used by the next run without extracting again, and replaced
 * (new root made, old one deleted, every build prerequisite-changed) when its digest
 * changes. A wrong sha256 and a hostile tarball stop the run before anything is built.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, scrub } from '../helpers/cli.js';
import { configFiles, planSummary, readIndex, readLedgerLines, recipe, resultSummary, type PlanDocument, type RunDocument } from '../helpers/reconcile-fixture.js';
import { baseSystem, rawTar, type RawEntry } from '../helpers/tarballs.js';
import { testdir, writeFiles } from '../helpers/testdir.js';

/** Each build copies what it sees in its root into its artifact. */
const USE_ROOT = [
  'test -n "$BUILDFLEET_ROOT"',
  '{ echo "$BUILDFLEET_PACKAGE $BUILDFLEET_VERSION"; cat "$BUILDFLEET_ROOT/etc/release"; "$BUILDFLEET_ROOT/bin/hello"; readlink "$BUILDFLEET_ROOT/usr/lib/libc.so"; } > "$BUILDFLEET_OUT/$BUILDFLEET_PACKAGE-$BUILDFLEET_VERSION.txt"',
].join('\n');

function writeTarball(dir: string, entries: readonly RawEntry[]): string {
  const bytes = rawTar(entries, { gzip: true });
  writeFileSync(path.join(dir, 'tarballs/bindist.tar.gz'), bytes);
  return createHash('sha256').update(bytes).digest('hex');
}

function setBranch(dir: string, sha256: string): void {
  const base = configFiles()['branches/main.yaml'] as string;
  writeFiles(dir, { 'branches/main.yaml': `${base}prerequisites:\n  - name: bindist\n    path: tarballs/bindist.tar.gz\n    sha256: ${sha256}\n` });
}

function setup(): { dir: string; state: string; sha: string } {
  const dir = testdir({ ...configFiles(), ...recipe('libc', { script: USE_ROOT }), ...recipe('app', { depends: ['libc'], script: USE_ROOT }) });
  mkdirSync(path.join(dir, 'tarballs'));
  const sha = writeTarball(dir, baseSystem('release 1'));
  setBranch(dir, sha);
  return { dir, state: path.join(dir, 'var'), sha };
}

async function planJson(dir: string): Promise<PlanDocument & { branches: { prerequisites?: { root: string; hosts: { host: string; status: string; installedRoot?: string }[] } }[] }> {
  const r = await runCli(['-C', dir, 'plan', '--format', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as never;
}

describe('prerequisites on the local host', () => {
  it('verifies, extracts once, re-uses, and replaces the root when the digest changes', { timeout: 60_000 }, async () => {
    const { dir, state, sha } = setup();
    const root1 = path.join(state, 'roots', 'main', sha);

    const before = await planJson(dir);
    expect(before.branches[0]!.prerequisites).toEqual({ root: sha, tarballs: [{ name: 'bindist', sha256: sha }], hosts: [{ host: 'local', status: 'install' }] });
    const text = await runCli(['-C', dir, 'plan']);
    expect(text.stdout).toContain(`  prerequisites bindist ${sha.slice(0, 12)}: install on local\n`);
    const markdown = await runCli(['-C', dir, 'plan', '--format', 'markdown']);
    expect(markdown.stdout).toContain(`- prerequisites of **main**: bindist ${sha.slice(0, 12)}: install on local`);

    // Run 1: the root is made and builds see it.
    const first = await runCli(['-C', dir, 'reconcile', '--format', 'json', '--log-format', 'json']);
    expect(first.code, first.stderr).toBe(0);
    expect(resultSummary(JSON.parse(first.stdout) as RunDocument)).toEqual(['app built', 'libc built']);
    const artifact = readFileSync(path.join(dir, 'repos/main/libc-1.0-1.txt'), 'utf8');
    expect(artifact).toBe('libc 1.0-1\nrelease 1\nhello from the root\n/lib/libc.so.6\n');
    expect(readdirSync(path.join(state, 'roots', 'main'))).toEqual([sha]);
    expect(readFileSync(path.join(root1, 'lib/libc.so.hard'), 'utf8')).toBe('not really a library\n');
    expect(first.stderr).toContain('"uploads":1');
    expect((await planJson(dir)).branches[0]!.prerequisites!.hosts).toEqual([{ host: 'local', status: 'installed' }]);

    // Run 2 (a new package to build): the root is used as it is, not extracted again.
    writeFileSync(path.join(root1, 'sentinel'), 'left by the test\n');
    writeFiles(dir, recipe('tool', { script: USE_ROOT }));
    const second = await runCli(['-C', dir, 'reconcile', '--format', 'json', '--log-format', 'json']);
    expect(second.code, second.stderr).toBe(0);
    expect(resultSummary(JSON.parse(second.stdout) as RunDocument)).toEqual(['tool built']);
    expect(second.stderr).not.toContain('uploading prerequisite');
    expect(second.stderr).not.toContain('"event":"prerequisites"');
    expect(existsSync(path.join(root1, 'sentinel'))).toBe(true);

    // The tarball changes: plan says so, every build is prerequisite-changed.
    const sha2 = writeTarball(dir, baseSystem('release 2'));
    setBranch(dir, sha2);
    const changed = await planJson(dir);
    expect(planSummary(changed)).toEqual(['build app prerequisite-changed', 'build libc prerequisite-changed', 'build tool prerequisite-changed']);
    expect(changed.branches[0]!.prerequisites!.hosts).toEqual([{ host: 'local', status: 'replace', installedRoot: sha }]);

    const third = await runCli(['-C', dir, 'reconcile', '--format', 'json', '--log-format', 'json']);
    expect(third.code, third.stderr).toBe(0);
    expect(resultSummary(JSON.parse(third.stdout) as RunDocument)).toEqual(['app built', 'libc built', 'tool built']);
    // A rebuild of the same version with other content gets a file name of its own.
    const tool = readIndex(path.join(dir, 'repos/main'))!.find((e) => e.name === 'tool')!;
    expect(readFileSync(path.join(dir, 'repos/main', tool.file), 'utf8')).toContain('release 2\n');
    // The new root is made, the old root and its tarball copy are gone.
    expect(readdirSync(path.join(state, 'roots', 'main'))).toEqual([sha2]);
    expect(readdirSync(path.join(state, 'tarballs'))).toEqual([`${sha2}.tar.gz`]);
    const record = JSON.parse(readFileSync(path.join(state, 'prerequisites/installed.json'), 'utf8')) as { hosts: Record<string, Record<string, { key: string }>> };
    expect(record.hosts['local']!['main']!.key).toBe(sha2);
    expect(readIndex(path.join(dir, 'repos/main'))!.map((e) => e.name).sort()).toEqual(['app', 'libc', 'tool']);
  });

  it('damaged prerequisite state (digest cache, installed roots) is ignored entry by entry, not an error', { timeout: 60_000 }, async () => {
    const { dir, state, sha } = setup();
    const tarball = path.join(dir, 'tarballs/bindist.tar.gz');
    mkdirSync(path.join(state, 'prerequisites'), { recursive: true });
    // Before: `files: null` or a null entry was an internal error of plan and reconcile; an
    // installed root without `tarballs` made every build `no-eligible-host` with a TypeError.
    for (const [digests, installed] of [
      [{ formatVersion: 1, files: null, safeRoots: [] }, { formatVersion: 1, hosts: { local: { main: { key: sha } } }, pendingRemoval: [null] }],
      [{ formatVersion: 1, files: { [tarball]: null }, safeRoots: [1] }, { formatVersion: 1, hosts: { local: { main: { key: 1, root: '/', tarballs: null } } } }],
      [{ formatVersion: 1, files: { [tarball]: { size: 1, mtimeMs: 1, sha256: 'not a digest' } }, safeRoots: 'all' }, { formatVersion: 1, hosts: { local: null }, pendingRemoval: [{ host: 'local', paths: null }] }],
    ]) {
      writeFileSync(path.join(state, 'prerequisites/digests.json'), JSON.stringify(digests));
      writeFileSync(path.join(state, 'prerequisites/installed.json'), JSON.stringify(installed));
      const plan = await planJson(dir);
      expect(plan.branches[0]!.prerequisites!.hosts).toEqual([{ host: 'local', status: 'install' }]);
    }
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    expect(resultSummary(JSON.parse(run.stdout) as RunDocument)).toEqual(['app built', 'libc built']);
    const record = JSON.parse(readFileSync(path.join(state, 'prerequisites/installed.json'), 'utf8')) as { hosts: Record<string, Record<string, { key: string }>>; pendingRemoval: unknown[] };
    expect(record.hosts['local']!['main']!.key).toBe(sha);
    expect(record.pendingRemoval).toEqual([]);
  });

  it('a tarball that does not match its sha256 stops plan and reconcile; nothing is built', { timeout: 60_000 }, async () => {
    const { dir, state, sha } = setup();
    const tamper = (): string => writeTarball(dir, baseSystem('tampered'));
    const expected = (actual: string): string =>
      [
        `branches/main.yaml:15:13: error: prerequisite "bindist": tarballs/bindist.tar.gz has sha256 ${actual}, but branches/main.yaml says ${sha}`,
        '  hint: if the tarball was replaced on purpose, put its sha256 (`sha256sum tarballs/bindist.tar.gz`) in branches/main.yaml: every package of the branch is then rebuilt (prerequisite-changed); otherwise restore the tarball that has the configured digest',
        '',
      ].join('\n');
    const actual = tamper();
    const plan = await runCli(['-C', dir, 'plan']);
    expect(plan.code).toBe(1);
    expect(plan.stderr).toBe(expected(actual));
    expect(plan.stdout).toBe('');
    const run = await runCli(['-C', dir, 'reconcile']);
    expect(run.code).toBe(1);
    expect(scrub(run.stderr, { [dir]: '<dir>' })).toBe(expected(actual));
    expect(readLedgerLines(state).records).toEqual([]);
    expect(readIndex(path.join(dir, 'repos/main'))).toBeNull();
    expect(existsSync(path.join(state, 'roots'))).toBe(false);

    // Also when everything is built (the digest is in the cache by then): a tarball changed
    // behind the config's back is refused, though reconcile has nothing to build.
    writeTarball(dir, baseSystem('release 1'));
    const good = await runCli(['-C', dir, 'reconcile']);
    expect(good.code, good.stderr).toBe(0);
    const records = readLedgerLines(state).records.length;
    const again = tamper();
    const refused = await runCli(['-C', dir, 'reconcile']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(expected(again));
    expect(readLedgerLines(state).records).toHaveLength(records);
  });

  it('a tarball with an entry escaping the root stops reconcile before any upload, naming the entry', async () => {
    const { dir, state } = setup();
    const sha = writeTarball(dir, [...baseSystem('r'), { path: './usr/lib/evil', type: 'SymbolicLink', linkpath: '../../../etc/passwd' }]);
    setBranch(dir, sha);
    const run = await runCli(['-C', dir, 'reconcile']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      [
        'branches/main.yaml:13:5: error: prerequisite "bindist": tarballs/bindist.tar.gz: symbolic link "./usr/lib/evil" points to "../../../etc/passwd", outside the root',
        '  hint: make the link point inside the root (absolute targets are read relative to the root), or leave it out. Nothing was uploaded or built',
        '',
      ].join('\n'),
    );
    expect(existsSync(path.join(state, 'tarballs'))).toBe(false);
    expect(readLedgerLines(state).records).toEqual([]);
  });

  it('a host that cannot install the root is unusable for the branch: its builds are skipped, not failed', async () => {
    const { dir, state } = setup();
    // The roots directory of the branch cannot be made: <state>/roots is a file.
    mkdirSync(state);
    writeFileSync(path.join(state, 'roots'), 'in the way\n');
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect(run.code).toBe(3);
    const doc = JSON.parse(run.stdout) as RunDocument;
    expect(resultSummary(doc)).toEqual(['app skipped no-eligible-host', 'libc skipped no-eligible-host']);
    expect(doc.branches[0]!.results.find((r) => r.package === 'libc')!.detail).toMatch(/^no host could install the prerequisites: local \(could not install the prerequisites of branch main on host local: checking the host failed/);
    // Not a package failure: nothing in the ledger marks them failed.
    expect(readLedgerLines(state).records.filter((r) => r.status === 'failed')).toEqual([]);
  });
});
