/**
 * A pacman repo with `sign:`: publishPacmanRepo signs each package and both
 * databases with a real GnuPG key, records the signatures as repo-add does,
 * and real pacman with `SigLevel = Required DatabaseRequired` installs from
 * it. A repository signed by `repo-add --sign` loses its database signature
 * when buildfleet publishes unsigned (it would not match the new database).
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { RepoEntry } from '../../src/observe/types.js';
import { publishPacmanRepo } from '../../src/publish/pacmanRepo.js';
import { hasPgpsig, withPgpsig } from '../../src/publish/pacmanPackage.js';
import type { PackageToPublish } from '../../src/publish/plainRepo.js';
import { databaseMembers, expectSameDatabases, gpgVerifies, hasCommand, makePackage, makeSigningKey, pacmanInstall, pacmanRoot, repoAdd, stopGpgAgent, type PackageSpec } from '../helpers/pacman.js';
import { runCli } from '../helpers/cli.js';
import { BASE_BRANCH, BASE_HOSTS, BASE_PIPELINE, baseConfig, makeTree, removeTree, testdir } from '../helpers/testdir.js';

const TOOLS = hasCommand('repo-add') && hasCommand('bsdtar') && hasCommand('gpg');
const IS_ROOT = process.getuid?.() === 0;

const SPECS: readonly PackageSpec[] = [
  { name: 'zlib', version: '1:1.3.1-2', provides: ['libz.so=1-64'] },
  { name: 'libpng', version: '1.6.44-1', depends: ['zlib>=1:1.3'], optdepends: ['app: to show pictures'] },
  { name: 'app', version: '2.0-3', depends: ['libz.so', 'libpng'] },
  { name: 'tool', version: '0.5-1' },
];

function toPublish(file: string, spec: PackageSpec, fingerprint: string): PackageToPublish {
  const entry: RepoEntry = { name: spec.name, version: spec.version, file: path.basename(file), sha256: '', size: 0, depends: [], provides: [], fingerprint, recipe: spec.name };
  return { entry, source: file };
}

/** The databases of `repo` are those repo-add makes in `reference` from its package files and the `.sig` beside each (pacman 6.0's repo-add records them as %PGPSIG%). */
function expectAsRepoAdd(repo: string, reference: string): void {
  repoAdd(
    reference,
    readdirSync(repo)
      .filter((f) => f.endsWith('.pkg.tar.gz'))
      .map((f) => path.join(repo, f)),
  );
  expectSameDatabases(repo, reference);
}

/** The repository's files, links shown with their targets. */
function listing(repo: string): string[] {
  return readdirSync(repo)
    .sort()
    .map((f) => (lstatSync(path.join(repo, f)).isSymbolicLink() ? `${f} -> ${readlinkSync(path.join(repo, f))}` : f));
}

describe('withPgpsig', () => {
  it('puts %PGPSIG% after the checksums, before the first field repo-add writes after it', () => {
    expect(withPgpsig('%NAME%\na\n\n%SHA256SUM%\nff\n\n%URL%\nu\n\n%ARCH%\nany\n\n', 'U0lH')).toBe('%NAME%\na\n\n%SHA256SUM%\nff\n\n%PGPSIG%\nU0lH\n\n%URL%\nu\n\n%ARCH%\nany\n\n');
    expect(withPgpsig('%NAME%\na\n\n%SHA256SUM%\nff\n\n%ARCH%\nany\n\n', 'U0lH')).toBe('%NAME%\na\n\n%SHA256SUM%\nff\n\n%PGPSIG%\nU0lH\n\n%ARCH%\nany\n\n');
    // A value that looks like a field name is not one: only a %NAME% line that starts a field counts.
    expect(withPgpsig('%DESC%\nsee %URL% here\n\n%SHA256SUM%\nff\n\n', 'U0lH')).toBe('%DESC%\nsee %URL% here\n\n%SHA256SUM%\nff\n\n%PGPSIG%\nU0lH\n\n');
    expect(withPgpsig('%DESC%\n%URL%\n\n%SHA256SUM%\nff\n\n%URL%\nu\n\n', 'U0lH')).toBe('%DESC%\n%URL%\n\n%SHA256SUM%\nff\n\n%PGPSIG%\nU0lH\n\n%URL%\nu\n\n');
    expect(hasPgpsig('%DESC%\n%PGPSIG%\n\n%URL%\nu\n\n')).toBe(false);
    expect(hasPgpsig('%SHA256SUM%\nff\n\n%PGPSIG%\nU0lH\n\n')).toBe(true);
  });
});

describe.skipIf(!TOOLS)('publishPacmanRepo with sign', () => {
  let keyDir: string;
  let key: { home: string; fingerprint: string };
  beforeAll(() => {
    keyDir = makeTree({});
    key = makeSigningKey(keyDir);
  });
  afterAll(() => {
    stopGpgAgent(key.home);
    removeTree(keyDir);
  });

  /** Packages of `specs`, made in `<dir>/pkgs`. */
  const makePackages = (dir: string, specs: readonly PackageSpec[]): string[] => {
    mkdirSync(path.join(dir, 'pkgs'), { recursive: true });
    return specs.map((s) => makePackage(path.join(dir, 'pkgs'), s));
  };

  it('signs each package and both databases; the entries are what repo-add writes for the same signatures', async () => {
    const dir = testdir({});
    const files = makePackages(dir, SPECS);
    const repo = path.join(dir, 'repo');
    await publishPacmanRepo({ repoPath: repo, repoName: 'test', displayPath: 'repo', add: files.map((f, i) => toPublish(f, SPECS[i]!, `${i}`.repeat(64))), remove: [], sign: { key: key.fingerprint, gnupgHome: key.home } });

    expect(listing(repo)).toEqual([
      'app-2.0-3-any.pkg.tar.gz',
      'app-2.0-3-any.pkg.tar.gz.sig',
      'libpng-1.6.44-1-any.pkg.tar.gz',
      'libpng-1.6.44-1-any.pkg.tar.gz.sig',
      'test.buildfleet.json',
      'test.db -> test.db.tar.gz',
      'test.db.sig -> test.db.tar.gz.sig',
      'test.db.tar.gz',
      'test.db.tar.gz.sig',
      'test.files -> test.files.tar.gz',
      'test.files.sig -> test.files.tar.gz.sig',
      'test.files.tar.gz',
      'test.files.tar.gz.sig',
      'tool-0.5-1-any.pkg.tar.gz',
      'tool-0.5-1-any.pkg.tar.gz.sig',
      'zlib-1:1.3.1-2-any.pkg.tar.gz',
      'zlib-1:1.3.1-2-any.pkg.tar.gz.sig',
    ]);
    for (const f of readdirSync(repo).filter((f) => f.endsWith('.tar.gz'))) expect({ f, verified: gpgVerifies(key.home, path.join(repo, `${f}.sig`), path.join(repo, f)) }).toEqual({ f, verified: true });
    const zlibDesc = databaseMembers(path.join(repo, 'test.db.tar.gz')).get('zlib-1:1.3.1-2/desc')!;
    const signature = readFileSync(path.join(repo, 'zlib-1:1.3.1-2-any.pkg.tar.gz.sig'));
    expect(zlibDesc).toContain(`%SHA256SUM%\n`);
    expect(zlibDesc).toContain(`\n\n%PGPSIG%\n${signature.toString('base64')}\n\n%URL%\n`);
    expectAsRepoAdd(repo, path.join(dir, 'reference'));

    // A second publish of the same files keeps their signatures; a new version gets its own, and the old one goes with its package.
    const before = readFileSync(path.join(repo, 'app-2.0-3-any.pkg.tar.gz.sig'));
    const [newer] = makePackages(path.join(dir, 'v2'), [{ ...SPECS[3]!, version: '0.6-1' }]);
    await publishPacmanRepo({ repoPath: repo, repoName: 'test', displayPath: 'repo', add: [toPublish(files[2]!, SPECS[2]!, '2'.repeat(64)), toPublish(newer!, { ...SPECS[3]!, version: '0.6-1' }, '7'.repeat(64))], remove: [], sign: { key: key.fingerprint, gnupgHome: key.home } });
    expect(readFileSync(path.join(repo, 'app-2.0-3-any.pkg.tar.gz.sig'))).toEqual(before);
    expect(existsSync(path.join(repo, 'tool-0.5-1-any.pkg.tar.gz.sig'))).toBe(false);
    expect(gpgVerifies(key.home, path.join(repo, 'tool-0.6-1-any.pkg.tar.gz.sig'), path.join(repo, 'tool-0.6-1-any.pkg.tar.gz'))).toBe(true);
    expect(gpgVerifies(key.home, path.join(repo, 'test.db.sig'), path.join(repo, 'test.db'))).toBe(true);
    expectAsRepoAdd(repo, path.join(dir, 'reference2'));
  });

  it('signs the packages an unsigned repository already holds when sign is turned on', async () => {
    const dir = testdir({});
    const files = makePackages(dir, SPECS);
    const repo = path.join(dir, 'repo');
    repoAdd(repo, files.slice(0, 3));
    expect([...databaseMembers(path.join(repo, 'test.db.tar.gz')).values()].some((desc) => desc.includes('%PGPSIG%'))).toBe(false);

    await publishPacmanRepo({ repoPath: repo, repoName: 'test', displayPath: 'repo', add: [toPublish(files[3]!, SPECS[3]!, 'b'.repeat(64))], remove: [], sign: { key: key.fingerprint, gnupgHome: key.home } });
    for (const f of files) expect(gpgVerifies(key.home, path.join(repo, `${path.basename(f)}.sig`), path.join(repo, path.basename(f)))).toBe(true);
    expectAsRepoAdd(repo, path.join(dir, 'reference'));
  });

  it('removes the database signature repo-add --sign left when it publishes unsigned: it would not match the new database', async () => {
    const dir = testdir({});
    const files = makePackages(dir, SPECS);
    const repo = path.join(dir, 'repo');
    repoAdd(repo, files.slice(0, 2), key);
    expect(listing(repo)).toContain('test.db.sig -> test.db.tar.gz.sig');

    await publishPacmanRepo({ repoPath: repo, repoName: 'test', displayPath: 'repo', add: [toPublish(files[3]!, SPECS[3]!, 'b'.repeat(64))], remove: ['libpng'] });
    expect(listing(repo).filter((f) => f.includes('.sig'))).toEqual([]);
    if (IS_ROOT && hasCommand('pacman')) {
      // pacman's default for a repository: a database signature is checked when there is one.
      pacmanInstall(dir, 'test', repo, ['tool'], { sigLevel: 'Optional TrustAll', trust: key });
    }
  });

  it('leaves the repository as it was when the key cannot sign', async () => {
    const dir = testdir({});
    const files = makePackages(dir, SPECS);
    const repo = path.join(dir, 'repo');
    await publishPacmanRepo({ repoPath: repo, repoName: 'test', displayPath: 'repo', add: [toPublish(files[0]!, SPECS[0]!, 'a'.repeat(64))], remove: [] });
    const before = listing(repo);
    const db = readFileSync(path.join(repo, 'test.db.tar.gz'));
    await expect(
      publishPacmanRepo({ repoPath: repo, repoName: 'test', displayPath: 'repo', add: [toPublish(files[1]!, SPECS[1]!, 'b'.repeat(64))], remove: [], sign: { key: 'nobody@example.invalid', gnupgHome: key.home } }),
    ).rejects.toThrow(/cannot sign libpng-1\.6\.44-1-any\.pkg\.tar\.gz with key nobody@example\.invalid \(GnuPG home .*\): gpg: skipped "nobody@example\.invalid": No secret key; gpg: signing failed: No secret key; the key must be a secret key there, usable without a passphrase prompt/);
    expect(listing(repo)).toEqual(before);
    expect(readFileSync(path.join(repo, 'test.db.tar.gz'))).toEqual(db);
  });

  it('fails at once, with gpg\'s reason, for a key with a passphrase gpg-agent does not have (no pinentry to wait for)', async () => {
    const dir = testdir({});
    const locked = makeSigningKey(path.join(dir, 'locked'), 'locked <locked@example.invalid>', 'a passphrase');
    onTestFinished(() => stopGpgAgent(locked.home));
    const [file] = makePackages(dir, [SPECS[0]!]);
    const repo = path.join(dir, 'repo');
    await expect(publishPacmanRepo({ repoPath: repo, repoName: 'test', displayPath: 'repo', add: [toPublish(file!, SPECS[0]!, 'a'.repeat(64))], remove: [], sign: { key: locked.fingerprint, gnupgHome: locked.home } })).rejects.toThrow(
      `cannot sign zlib-1:1.3.1-2-any.pkg.tar.gz with key ${locked.fingerprint} (GnuPG home ${locked.home}): gpg: signing failed: No pinentry; the key must be a secret key there, usable without a passphrase prompt (no passphrase, or one gpg-agent has cached)`,
    );
    expect(readdirSync(repo)).toEqual([]);
  });

  it('refuses to reconcile, before building anything, when the key of a signed repo cannot sign', async () => {
    const branch = BASE_BRANCH.replace('    format: plain\n', `    format: pacman\n    sign: { key: nobody@example.invalid, gnupgHome: ${key.home} }\n`);
    const dir = testdir({ ...baseConfig(), 'branches/main.yaml': branch });
    const run = await runCli(['-C', dir, 'reconcile']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `branches/main.yaml:8:5: error: repo main: key nobody@example.invalid cannot sign (GnuPG home ${key.home}): gpg: skipped "nobody@example.invalid": No secret key; gpg: signing failed: No secret key\n  hint: make it a secret key of that GnuPG home (gpg --import), without a passphrase or with one gpg-agent has cached, or correct sign.key and sign.gnupgHome\n`,
    );
    // Nothing built: no log, no artifact, no ledger line.
    expect(existsSync(path.join(dir, 'repos'))).toBe(false);
    expect(readdirSync(path.join(dir, 'var'))).not.toContain('main');
    // plan signs nothing: it does not need the key.
    expect((await runCli(['-C', dir, 'plan'])).code).toBe(0);
  });

  it('signs a repository whose database has no signature even with nothing to build, and says so in the plan', async () => {
    const dir = testdir({
      'hosts.yaml': BASE_HOSTS,
      'pipelines/shell.yaml': BASE_PIPELINE,
      'recipes/.keep': '',
      'branches/main.yaml': `source: { path: recipes, format: recipe }\npipeline: shell\nrepos:\n  - name: test\n    path: repo\n    format: pacman\n    sign: { key: ${key.fingerprint}, gnupgHome: ${key.home} }\n`,
    });
    const repo = path.join(dir, 'repo');
    const files = makePackages(dir, SPECS.slice(0, 2));
    repoAdd(repo, files);
    const warning = `branches/main.yaml:4:5: warning: repo test is signed (sign:), but its database has no signature: reconcile signs it, and every package in it without a signature\n  hint: nothing to do: the next reconcile signs them, even with nothing to build\n`;
    const plan = await runCli(['-C', dir, 'plan', '--detailed-exitcode']);
    expect({ code: plan.code, warned: plan.stderr.includes(warning) }).toEqual({ code: 0, warned: true });
    const repoStatus = async (): Promise<unknown> => (JSON.parse((await runCli(['-C', dir, 'status', '--format', 'json'])).stdout) as { branches: { repos: unknown[] }[] }).branches[0]!.repos[0];
    expect(await repoStatus()).toMatchObject({ name: 'test', packages: 2, signedWith: key.fingerprint, unsigned: true });
    expect((await runCli(['-C', dir, 'status'])).stdout).toContain(`, signed with ${key.fingerprint}: database not signed yet (the next reconcile signs it)\n`);

    const run = await runCli(['-C', dir, 'reconcile', '--log-format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('published to main/test: 0 added, 0 removed, 2 signed');
    for (const f of [...files.map((f) => path.basename(f)), 'test.db', 'test.files']) expect({ f, verified: gpgVerifies(key.home, path.join(repo, `${f}.sig`), path.join(repo, f)) }).toEqual({ f, verified: true });
    expectAsRepoAdd(repo, path.join(dir, 'reference'));

    // Signed now: no warning, and the next run publishes nothing.
    expect(await repoStatus()).toMatchObject({ signedWith: key.fingerprint, unsigned: false });
    expect((await runCli(['-C', dir, 'plan'])).stderr).not.toContain('warning');
    const again = await runCli(['-C', dir, 'reconcile', '--log-format', 'json']);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain('published to');
  });

  it.skipIf(!IS_ROOT || !hasCommand('pacman'))('is installed from by real pacman requiring signatures, which refuses the same repository unsigned', async () => {
    const dir = testdir({});
    const files = makePackages(dir, SPECS);
    const add = files.map((f, i) => toPublish(f, SPECS[i]!, `${i}`.repeat(64)));
    const signed = path.join(dir, 'signed');
    const unsigned = path.join(dir, 'unsigned');
    await publishPacmanRepo({ repoPath: signed, repoName: 'test', displayPath: 'signed', add, remove: [], sign: { key: key.fingerprint, gnupgHome: key.home } });
    await publishPacmanRepo({ repoPath: unsigned, repoName: 'test', displayPath: 'unsigned', add, remove: [] });
    const pacman = (repo: string, name: string): { status: number | null; output: string; args: string[] } => {
      const { args } = pacmanRoot(dir, 'test', repo, { sigLevel: 'Required DatabaseRequired', trust: key, tag: name });
      const r = spawnSync('pacman', [...args, '--noconfirm', '-Sy', 'app'], { encoding: 'utf8' });
      return { status: r.status, output: `${r.stdout}${r.stderr}`, args };
    };
    const ok = pacman(signed, 'signed');
    expect(ok.status, ok.output).toBe(0);
    expect(execFileSync('pacman', [...ok.args, '-Q'], { encoding: 'utf8' }).trim().split('\n')).toEqual(['app 2.0-3', 'libpng 1.6.44-1', 'zlib 1:1.3.1-2']);
    const refused = pacman(unsigned, 'unsigned');
    expect(refused.status).not.toBe(0);
    expect(refused.output).toMatch(/test\.db\.sig/);
  });
});
