/**
 * publishPacmanRepo against the real tools: the database it writes matches what
 * `repo-add` writes for the same packages, entry by entry; real `pacman` syncs
 * it and installs from it; a repository made with `repo-add` is adopted.
 */
import { existsSync, mkdirSync, readFileSync, readlinkSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPacmanRepo } from '../../src/observe/pacmanRepo.js';
import type { RepoEntry } from '../../src/observe/types.js';
import { publishPacmanRepo } from '../../src/publish/pacmanRepo.js';
import type { PackageToPublish } from '../../src/publish/plainRepo.js';
import { databaseMembers, expectSameDatabases, hasCommand, makePackage, pacmanRoot, repoAdd, repoTool, type PackageSpec } from '../helpers/pacman.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { testdir } from '../helpers/testdir.js';

const TOOLS = hasCommand('repo-add') && hasCommand('bsdtar');
const IS_ROOT = process.getuid?.() === 0;

const SPECS: readonly PackageSpec[] = [
  { name: 'zlib', version: '1:1.3.1-2', desc: 'Compression   library\twith  odd spacing', provides: ['libz.so=1-64'], licenses: ['Zlib', 'custom'], groups: ['base-devel'] },
  { name: 'libpng', version: '1.6.44-1', depends: ['zlib>=1:1.3'], optdepends: ['app: to show pictures'], makedepends: ['cmake'], checkdepends: ['python'] },
  { name: 'app', version: '2.0-3', depends: ['libz.so', 'libpng'], conflicts: ['old-app'], extraPkgInfo: '# a comment\nxdata = pkgtype=pkg\n' },
  { name: 'tool', version: '0.5-1', base: 'tool', files: { 'usr/bin/tool': '#!/bin/sh\n', 'usr/share/tool/data.txt': 'data\n' } },
  { name: 'tool-doc', version: '0.5-1', base: 'tool', desc: 'Documentation for tool', files: { 'usr/share/doc/tool/README': 'read me\n' } },
];

function toPublish(file: string, spec: PackageSpec, fingerprint: string): PackageToPublish {
  const entry: RepoEntry = { name: spec.name, version: spec.version, file: path.basename(file), sha256: '', size: 0, depends: [], provides: [], fingerprint, recipe: spec.base ?? spec.name };
  return { entry, source: file };
}

/** Makes the packages of `specs` in `<dir>/pkgs`; returns their paths in order. */
function makePackages(dir: string, specs: readonly PackageSpec[]): string[] {
  mkdirSync(path.join(dir, 'pkgs'), { recursive: true });
  return specs.map((s) => makePackage(path.join(dir, 'pkgs'), s));
}

describe.skipIf(!TOOLS)('publishPacmanRepo', () => {
  it('writes the database and files database that repo-add writes, entry by entry, and their links', async () => {
    const dir = testdir({});
    const files = makePackages(dir, SPECS);
    repoAdd(path.join(dir, 'reference'), files);
    const repo = path.join(dir, 'repo');
    const result = await publishPacmanRepo({ repoPath: repo, repoName: 'test', displayPath: 'repo', add: files.map((f, i) => toPublish(f, SPECS[i]!, `${i}`.repeat(64))), remove: [] });

    expect(result.published.map((e) => `${e.name} ${e.version} ${e.file}`)).toEqual(SPECS.map((s) => `${s.name} ${s.version} ${s.name}-${s.version}-any.pkg.tar.gz`));
    expectSameDatabases(repo, path.join(dir, 'reference'));
    expect(readlinkSync(path.join(repo, 'test.db'))).toBe('test.db.tar.gz');
    expect(readlinkSync(path.join(repo, 'test.files'))).toBe('test.files.tar.gz');
    // What the desc of the odd package says, spelled out once.
    const zlibDesc = databaseMembers(path.join(repo, 'test.db.tar.gz')).get('zlib-1:1.3.1-2/desc')!;
    expect(zlibDesc).toContain('%DESC%\nCompression library with odd spacing\n\n%GROUPS%\nbase-devel\n\n%CSIZE%\n');
    expect(zlibDesc).toMatch(/%MD5SUM%\n[0-9a-f]{32}\n\n%SHA256SUM%\n[0-9a-f]{64}\n\n%URL%/);

    // Observed back, with buildfleet's fingerprints.
    const observed = readPacmanRepo(repo, 'test', 'repo');
    expect(observed.diagnostics).toEqual([]);
    expect(observed.entries.get('libpng')).toMatchObject({ version: '1.6.44-1', depends: ['zlib>=1:1.3'], fingerprint: '1'.repeat(64), recipe: 'libpng' });
    expect(observed.entries.get('zlib')).toMatchObject({ provides: ['libz.so=1-64'], description: 'Compression library with odd spacing' });
  });

  it('replaces a version and removes a package as repo-add and repo-remove do, deleting superseded files only after the database', async () => {
    const dir = testdir({});
    const files = makePackages(dir, SPECS);
    const reference = path.join(dir, 'reference');
    repoAdd(reference, files);
    const repo = path.join(dir, 'repo');
    await publishPacmanRepo({ repoPath: repo, repoName: 'test', displayPath: 'repo', add: files.map((f, i) => toPublish(f, SPECS[i]!, `${i}`.repeat(64))), remove: [] });

    const newer: PackageSpec = { ...SPECS[1]!, version: '1.6.45-1' };
    const [newFile] = makePackages(dir, [newer]);
    repoAdd(reference, [newFile!]);
    repoTool('repo-remove', reference, 'test', ['app']);
    const result = await publishPacmanRepo({ repoPath: repo, repoName: 'test', displayPath: 'repo', add: [toPublish(newFile!, newer, 'a'.repeat(64))], remove: ['app'] });

    expectSameDatabases(repo, reference);
    expect(result.removed.map((e) => e.name)).toEqual(['app']);
    expect([...result.deletedFiles].sort()).toEqual(['app-2.0-3-any.pkg.tar.gz', 'libpng-1.6.44-1-any.pkg.tar.gz']);
    const left = readdirSync(repo).filter((f) => f.endsWith('.pkg.tar.gz')).sort();
    expect(left).toEqual(['libpng-1.6.45-1-any.pkg.tar.gz', 'tool-0.5-1-any.pkg.tar.gz', 'tool-doc-0.5-1-any.pkg.tar.gz', 'zlib-1:1.3.1-2-any.pkg.tar.gz']);
    expect(readdirSync(repo).filter((f) => f.startsWith('.'))).toEqual([]);
    const sidecar = JSON.parse(readFileSync(path.join(repo, 'test.buildfleet.json'), 'utf8')) as { packages: Record<string, unknown> };
    expect(Object.keys(sidecar.packages).sort()).toEqual(left);
  });

  it('adopts a repository made with repo-add: entries without fingerprints, kept byte for byte when buildfleet adds a package', async () => {
    const dir = testdir({});
    const files = makePackages(dir, SPECS);
    const repo = path.join(dir, 'repo');
    repoAdd(repo, files.slice(0, 3));
    const before = databaseMembers(path.join(repo, 'test.db.tar.gz'));

    const adopted = readPacmanRepo(repo, 'test', 'repo');
    expect(adopted.diagnostics).toEqual([]);
    expect([...adopted.entries.values()].map((e) => `${e.name} ${e.version} ${JSON.stringify(e.fingerprint)}`).sort()).toEqual(['app 2.0-3 ""', 'libpng 1.6.44-1 ""', 'zlib 1:1.3.1-2 ""']);

    await publishPacmanRepo({ repoPath: repo, repoName: 'test', displayPath: 'repo', add: [toPublish(files[3]!, SPECS[3]!, 'b'.repeat(64))], remove: [] });
    const after = databaseMembers(path.join(repo, 'test.db.tar.gz'));
    for (const [member, text] of before) expect(after.get(member)).toBe(text);
    const observed = readPacmanRepo(repo, 'test', 'repo');
    expect(observed.entries.get('app')?.fingerprint).toBe('');
    expect(observed.entries.get('tool')?.fingerprint).toBe('b'.repeat(64));

    // A package replaced by hand with repo-add: buildfleet's record no longer applies to the file the database names.
    const rebuilt = makePackage(path.join(dir, 'rebuilt'), { ...SPECS[3]!, files: { 'usr/bin/tool': '#!/bin/sh\necho rebuilt\n' } });
    repoAdd(repo, [rebuilt]);
    expect(readPacmanRepo(repo, 'test', 'repo').entries.get('tool')?.fingerprint).toBe('');
  });

  it('is listed in packages.txt by the example afterPublish hook (scripts/packages-txt.sh)', async () => {
    const dir = testdir({});
    const files = makePackages(dir, SPECS);
    const repo = path.join(dir, 'repo');
    await publishPacmanRepo({ repoPath: repo, repoName: 'test', displayPath: 'repo', add: files.map((f, i) => toPublish(f, SPECS[i]!, `${i}`.repeat(64))), remove: [] });
    execFileSync(path.join(REPO_ROOT, 'scripts/packages-txt.sh'), { env: { PATH: process.env.PATH ?? '', BUILDFLEET_REPO_PATH: repo, BUILDFLEET_REPO: 'test' }, stdio: 'pipe' });
    expect(readFileSync(path.join(repo, 'packages.txt'), 'utf8')).toBe(
      [
        'app\t2.0-3\tThe app package',
        'libpng\t1.6.44-1\tThe libpng package',
        'tool\t0.5-1\tThe tool package',
        'tool-doc\t0.5-1\tDocumentation for tool',
        'zlib\t1:1.3.1-2\tCompression library with odd spacing',
        '',
      ].join('\n'),
    );
    expect(readdirSync(repo).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('refuses a package whose .PKGINFO is not the recipe it was built for, leaving the repository as it was', async () => {
    const dir = testdir({});
    const [file] = makePackages(dir, [SPECS[0]!]);
    const repo = path.join(dir, 'repo');
    const wrong = toPublish(file!, { ...SPECS[0]!, version: '1:1.3.2-1' }, 'c'.repeat(64));
    await expect(publishPacmanRepo({ repoPath: repo, repoName: 'test', displayPath: 'repo', add: [wrong], remove: [] })).rejects.toThrow(
      /holds zlib 1:1.3.1-2 according to its \.PKGINFO, but the recipe says zlib 1:1.3.2-1/,
    );
    expect(existsSync(path.join(repo, 'test.db.tar.gz'))).toBe(false);
    expect(readdirSync(repo)).toEqual([]);
  });

  it.skipIf(!IS_ROOT || !hasCommand('pacman'))('is synced by real pacman, which installs a package and its dependencies from it', async () => {
    const dir = testdir({});
    const files = makePackages(dir, SPECS);
    const repo = path.join(dir, 'repo');
    await publishPacmanRepo({ repoPath: repo, repoName: 'test', displayPath: 'repo', add: files.map((f, i) => toPublish(f, SPECS[i]!, `${i}`.repeat(64))), remove: [] });
    const { root, args } = pacmanRoot(dir, 'test', repo);
    execFileSync('pacman', [...args, '--noconfirm', '-Sy'], { stdio: 'pipe' });
    // app needs libz.so (provided by zlib) and libpng (which needs zlib>=1:1.3).
    execFileSync('pacman', [...args, '--noconfirm', '-S', 'app'], { stdio: 'pipe' });
    const installed = execFileSync('pacman', [...args, '-Q'], { encoding: 'utf8' });
    expect(installed.trim().split('\n')).toEqual(['app 2.0-3', 'libpng 1.6.44-1', 'zlib 1:1.3.1-2']);
    expect(readFileSync(path.join(root, 'usr/bin/app'), 'utf8')).toBe('#!/bin/sh\necho app 2.0-3\n');
    expect(existsSync(path.join(root, 'usr/bin/zlib'))).toBe(true);
  });
});
