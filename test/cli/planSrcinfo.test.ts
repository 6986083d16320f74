import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/plan/types.js';
import { runCli } from '../helpers/cli.js';
import { BASE_HOSTS, BASE_PIPELINE, testdir, type Files } from '../helpers/testdir.js';

const branch = (architecture: string): string => `source:
  path: pkgs
  format: srcinfo
architecture: ${architecture}
pipeline: shell
repos:
  - name: main
    path: repos/main
    format: plain
    prune: true
`;

/** A small Arch tree: a split library with a versioned provide, an app needing it by version, an aarch64-only package, a broken .SRCINFO and its dependent. */
function archTree(architecture = 'x86_64'): Files {
  return {
    'hosts.yaml': BASE_HOSTS,
    'pipelines/shell.yaml': BASE_PIPELINE,
    'branches/arch.yaml': branch(architecture),
    'pkgs/libfoo/.SRCINFO': 'pkgbase = libfoo\n\tpkgver = 2.1\n\tpkgrel = 3\n\tepoch = 1\n\tarch = x86_64\n\tarch = aarch64\n\tdepends = glibc\n\tmakedepends = cmake\n\npkgname = libfoo\n\tprovides = foo-api=2.1\n\npkgname = libfoo-docs\n\tarch = any\n\tdepends = \n',
    'pkgs/libfoo/PKGBUILD': '# the .SRCINFO above is what counts\n',
    'pkgs/app/.SRCINFO': 'pkgbase = app\n\tpkgver = 0.9\n\tpkgrel = 1\n\tarch = x86_64\n\tarch = aarch64\n\tdepends = libfoo>=1:2\n\tdepends_aarch64 = armhelper\n\tcheckdepends = foo-api>=2\n\npkgname = app\n',
    'pkgs/armhelper/.SRCINFO': 'pkgbase = armhelper\n\tpkgver = 1\n\tpkgrel = 1\n\tarch = aarch64\n\npkgname = armhelper\n',
    'pkgs/broken/.SRCINFO': 'pkgbase = broken\n\tpkgver = 1\n\tpkgrel = 1\n\tdepends glibc\n\npkgname = broken\n',
    'pkgs/user/.SRCINFO': 'pkgbase = user\n\tpkgver = 1\n\tpkgrel = 1\n\tarch = any\n\tdepends = broken\n\npkgname = user\n',
    'pkgs/notes/README': 'not a package directory\n',
  };
}

function summary(plan: Plan): string[] {
  return plan.branches[0]!.actions.map((a) => `${a.type} ${a.package}${a.type === 'build' ? ` [${a.packages.join(' ')}] ${a.version}` : ''} ${a.reason}${a.type !== 'remove' && a.detail !== undefined ? `: ${a.detail}` : ''}`);
}

describe('plan over a srcinfo tree', () => {
  it('builds split packages once, resolves versioned dependencies, skips the broken recipe with a located error', async () => {
    const dir = testdir(archTree());
    const result = await runCli(['-C', dir, 'plan', '--format', 'json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      'pkgs/broken/.SRCINFO:4:2: error: expected "key = value", found "depends glibc"\n  hint: regenerate the file with `makepkg --printsrcinfo > .SRCINFO`\n',
    );
    const plan = JSON.parse(result.stdout) as Plan;
    expect(summary(plan)).toEqual([
      'build libfoo [libfoo libfoo-docs] 1:2.1-3 new',
      'build app [app] 0.9-1 new',
      'skip armhelper not-for-architecture: arch is aarch64, not x86_64 or any',
      'skip broken invalid-recipe: expected "key = value", found "depends glibc"',
      'skip user dependency-skipped: broken',
    ]);
    expect(plan.branches[0]!.actions[1]).toMatchObject({ dependsOn: ['libfoo'] });
  });

  it('the branch architecture chooses arch-specific dependencies', async () => {
    const dir = testdir(archTree('aarch64'));
    const plan = JSON.parse((await runCli(['-C', dir, 'plan', '--format', 'json'])).stdout) as Plan;
    expect(summary(plan).slice(0, 3)).toEqual(['build armhelper [armhelper] 1-1 new', 'build libfoo [libfoo libfoo-docs] 1:2.1-3 new', 'build app [app] 0.9-1 new']);
    expect(plan.branches[0]!.actions[2]).toMatchObject({ dependsOn: ['armhelper', 'libfoo'] });
  });

  it('a versioned dependency the tree has only at another version is unresolvable, located in validate', async () => {
    const files = archTree();
    files['pkgs/app/.SRCINFO'] = (files['pkgs/app/.SRCINFO'] as string).replace('libfoo>=1:2', 'libfoo>=1:3');
    const dir = testdir(files);
    const plan = JSON.parse((await runCli(['-C', dir, 'plan', '--format', 'json'])).stdout) as Plan;
    expect(summary(plan)).toContain('skip app unresolvable: nothing provides libfoo>=1:3 (only libfoo 1:2.1-3)');
    const validate = await runCli(['-C', dir, 'validate']);
    expect(validate.stderr).toContain('pkgs/app/.SRCINFO:6:12: warning: app depends on libfoo>=1:3, but there is only libfoo 1:2.1-3; it will be skipped');
  });

  it('refuses an unknown architecture value with a located error', async () => {
    const dir = testdir({ ...archTree(), 'branches/arch.yaml': branch('x86-64!') });
    const result = await runCli(['-C', dir, 'validate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('branches/arch.yaml:4:15: error:');
  });
});

const makepkg = spawnSync('makepkg', ['--version'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!makepkg)('a pkgbase directory without .SRCINFO (needs makepkg)', () => {
  it('is read through makepkg --printsrcinfo, also as root', async () => {
    const dir = testdir({
      'hosts.yaml': BASE_HOSTS,
      'pipelines/shell.yaml': BASE_PIPELINE,
      'branches/arch.yaml': branch('x86_64'),
      'pkgs/hello/PKGBUILD': 'pkgname=hello\npkgver=1.0\npkgrel=2\narch=(any)\ndepends=(glibc)\npackage() { :; }\n',
      'pkgs/broken/PKGBUILD': 'pkgname=broken\npkgver=1.0\npkgrel=1\narch=(any\n',
    });
    const result = await runCli(['-C', dir, 'plan', '--format', 'json']);
    const plan = JSON.parse(result.stdout) as Plan;
    expect(summary(plan)).toEqual([
      'build hello [hello] 1.0-2 new',
      "skip broken invalid-recipe: no .SRCINFO, and makepkg --printsrcinfo failed (exit 6): pkgs/broken/PKGBUILD: line 4: unexpected EOF while looking for matching `)' / ==> ERROR: Failed to source pkgs/broken/PKGBUILD",
    ]);
    expect(result.stderr).toMatch(/^pkgs\/broken\/PKGBUILD: error: no .SRCINFO, and makepkg --printsrcinfo failed/);
  }, 300_000);
});
