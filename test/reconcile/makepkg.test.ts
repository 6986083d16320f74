/**
 * pipelines/makepkg.yaml end to end: `reconcile` builds two real PKGBUILDs with
 * makepkg (as the unprivileged build user when the tests run as root), the
 * second at build time using what the first installed into the sysroot, and
 * publishes them into a pacman repository, signed with a GnuPG key (`sign:`),
 * that real pacman installs from, requiring signatures.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { readPacmanRepo } from '../../src/observe/pacmanRepo.js';
import { REPO_ROOT, runCli } from '../helpers/cli.js';
import { gpgVerifies, hasCommand, makeSigningKey, pacmanInstall, stopGpgAgent } from '../helpers/pacman.js';
import type { RunDocument } from '../helpers/reconcile-fixture.js';
import { recipeYaml, testdir, type Files } from '../helpers/testdir.js';

const MAKEPKG = hasCommand('makepkg') && hasCommand('fakeroot') && hasCommand('bsdtar') && hasCommand('gpg');
const IS_ROOT = process.getuid?.() === 0;
const BUILD_USER = 'buildfleet-build';

/** As root, makepkg needs its build user: made here when missing (.ci/run makes it too). */
function ensureBuildUser(): void {
  if (!IS_ROOT || spawnSync('id', [BUILD_USER], { stdio: 'ignore' }).status === 0) return;
  execFileSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', BUILD_USER]);
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const GREET_SH = 'greet_line() { printf "Hello, %s!\\n" "$1"; }\n';

function config(): Files {
  return {
    'hosts.yaml': 'hosts:\n  - name: local\n    transport: local\n    power: 2\n    labels: [linux]\n',
    'pipelines/makepkg.yaml': readFileSync(path.join(REPO_ROOT, 'pipelines/makepkg.yaml'), 'utf8'),
    // The signing key: written into gnupg/ by the test.
    'branches/arch.yaml': 'source:\n  path: recipes\n  format: recipe\npipeline: makepkg\nrepos:\n  - name: arch\n    path: repos/arch\n    format: pacman\n    prune: true\n    sign: { key: KEY, gnupgHome: gnupg }\n',
    'recipes/greet-lib/recipe.yaml': recipeYaml('greet-lib', { version: '1.0', release: '1' }),
    'recipes/greet-lib/greet.sh': GREET_SH,
    'recipes/greet-lib/PKGBUILD': [
      'pkgname=greet-lib',
      'pkgver=1.0',
      'pkgrel=1',
      'pkgdesc="Shell functions that greet"',
      'arch=(any)',
      'license=(MIT)',
      'source=(greet.sh)',
      `sha256sums=(${sha256(GREET_SH)})`,
      'package() { install -Dm644 greet.sh "$pkgdir/usr/lib/greet/greet.sh"; }',
      '',
    ].join('\n'),
    'recipes/greet/recipe.yaml': recipeYaml('greet', { version: '1.0', release: '1', depends: ['greet-lib'] }),
    'recipes/greet/PKGBUILD': [
      'pkgname=greet',
      'pkgver=1.0',
      'pkgrel=1',
      'pkgdesc="Greets the world"',
      'arch=(any)',
      'license=(MIT)',
      'depends=(greet-lib)',
      // Built with the dependency's file from the sysroot the pipeline unpacked.
      'build() { . "$BUILDFLEET_SYSROOT/usr/lib/greet/greet.sh"; greet_line world >greeting.txt; }',
      'package() { install -Dm644 greeting.txt "$pkgdir/usr/share/greet/greeting.txt"; }',
      '',
    ].join('\n'),
  };
}

describe('pipelines/makepkg.yaml', () => {
  it.skipIf(!MAKEPKG)('builds PKGBUILDs in dependency order and publishes them into a signed pacman repository (skipped where makepkg, fakeroot, bsdtar or gpg is missing)', { timeout: 300_000 }, async () => {
    ensureBuildUser();
    const dir = testdir(config());
    chmodSync(dir, 0o755); // the build user must reach the workspaces below it
    const key = makeSigningKey(dir);
    onTestFinished(() => stopGpgAgent(key.home));
    const branchFile = path.join(dir, 'branches/arch.yaml');
    writeFileSync(branchFile, readFileSync(branchFile, 'utf8').replace('KEY', key.fingerprint));
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    const doc = JSON.parse(run.stdout) as RunDocument;
    expect(doc.branches[0]!.results.map((r) => `${r.package} ${r.version} ${r.status}`)).toEqual(['greet-lib 1.0-1 built', 'greet 1.0-1 built']);

    const repo = path.join(dir, 'repos/arch');
    const observed = readPacmanRepo(repo, 'arch', 'repos/arch');
    expect([...observed.entries.values()].map((e) => `${e.name} ${e.version} ${e.file} ${e.fingerprint.length}`).sort()).toEqual([
      'greet 1.0-1 greet-1.0-1-any.pkg.tar.gz 64',
      'greet-lib 1.0-1 greet-lib-1.0-1-any.pkg.tar.gz 64',
    ]);
    expect(observed.entries.get('greet')?.depends).toEqual(['greet-lib']);
    expect(readdirSync(repo).sort()).toEqual([
      'arch.buildfleet.json',
      'arch.db',
      'arch.db.sig',
      'arch.db.tar.gz',
      'arch.db.tar.gz.sig',
      'arch.files',
      'arch.files.sig',
      'arch.files.tar.gz',
      'arch.files.tar.gz.sig',
      'greet-1.0-1-any.pkg.tar.gz',
      'greet-1.0-1-any.pkg.tar.gz.sig',
      'greet-lib-1.0-1-any.pkg.tar.gz',
      'greet-lib-1.0-1-any.pkg.tar.gz.sig',
    ]);
    for (const f of ['arch.db', 'greet-1.0-1-any.pkg.tar.gz']) expect(gpgVerifies(key.home, path.join(repo, `${f}.sig`), path.join(repo, f))).toBe(true);

    // Nothing left to do: the fingerprints were kept with the database.
    const plan = await runCli(['-C', dir, 'plan', '--detailed-exitcode']);
    expect(plan.code).toBe(0);

    if (IS_ROOT && hasCommand('pacman')) {
      const { root, args } = pacmanInstall(dir, 'arch', repo, ['greet'], { sigLevel: 'Required DatabaseRequired', trust: key });
      expect(execFileSync('pacman', [...args, '-Q'], { encoding: 'utf8' })).toBe('greet 1.0-1\ngreet-lib 1.0-1\n');
      expect(readFileSync(path.join(root, 'usr/share/greet/greeting.txt'), 'utf8')).toBe('Hello, world!\n');
    }
  });
});
