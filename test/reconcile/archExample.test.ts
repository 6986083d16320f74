/**
 * The bundled Arch example (branches/arch.yaml over example/arch/), as `npm
 * start` runs it: real makepkg builds the four PKGBUILDs in dependency order,
 * the pacman repository gets five packages (the split greetings makes two), the
 * example afterPublish hook writes packages.txt beside it, and real pacman
 * installs the top package with its chain and the `provides` provider. Where
 * makepkg (or, as root, the build user) is missing, the branch is skipped with
 * its reason and the run still exits 0.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPacmanRepo } from '../../src/observe/pacmanRepo.js';
import { runCli } from '../helpers/cli.js';
import { hasCommand, pacmanInstall } from '../helpers/pacman.js';
import type { PlanDocument, RunDocument, RunResultEntry } from '../helpers/reconcile-fixture.js';
import { copyExample, testdir } from '../helpers/testdir.js';

const MAKEPKG = hasCommand('makepkg') && hasCommand('fakeroot') && hasCommand('bsdtar');
const IS_ROOT = process.getuid?.() === 0;
const BUILD_USER = 'buildfleet-build';

/** As root, makepkg needs its build user: made here when missing (.ci/run makes it too). */
function ensureBuildUser(): void {
  if (!IS_ROOT || spawnSync('id', [BUILD_USER], { stdio: 'ignore' }).status === 0) return;
  execFileSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', BUILD_USER]);
}

/** `package version status[ reason]` of every result of a branch, sorted. */
function results(doc: RunDocument, branch: string): string[] {
  return (doc.branches.find((b) => b.name === branch)?.results ?? []).map((r) => `${r.package} ${r.version ?? ''} ${r.status}${r.reason !== undefined ? ` ${r.reason}` : ''}`).sort();
}

/** A PATH of one directory with a link to every command of this PATH except `drop`: this machine without it. */
function pathWithout(drop: readonly string[]): string {
  const bin = path.join(testdir({}), 'bin');
  mkdirSync(bin);
  const seen = new Set(drop);
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (seen.has(name)) continue;
      seen.add(name);
      symlinkSync(path.join(dir, name), path.join(bin, name));
    }
  }
  return bin;
}

describe('the bundled Arch example (branches/arch.yaml)', () => {
  it.skipIf(!MAKEPKG)('builds with makepkg into a pacman repository with packages.txt, which pacman installs the top package from with its chain and provider (skipped where makepkg, fakeroot or bsdtar is missing)', { timeout: 600_000 }, async () => {
    ensureBuildUser();
    const dir = copyExample(['arch']);
    chmodSync(dir, 0o755); // the build user must reach the workspaces below it
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    const doc = JSON.parse(run.stdout) as RunDocument;
    expect(results(doc, 'arch')).toEqual(['boxes-lite 0.3-2 built', 'greet 2.0-1 built', 'greetings 1.0-1 built', 'libgreet 1.2.0-1 built']);
    // Dependency order: greet after libgreet and the text-boxer provider; greetings after greet.
    const timed = doc.branches[0]!.results as readonly (RunResultEntry & { startedAt?: string; finishedAt?: string })[];
    const times = new Map(timed.map((r) => [r.package, { start: Date.parse(r.startedAt!), end: Date.parse(r.finishedAt!) }]));
    expect(times.get('greet')!.start).toBeGreaterThanOrEqual(Math.max(times.get('libgreet')!.end, times.get('boxes-lite')!.end));
    expect(times.get('greetings')!.start).toBeGreaterThanOrEqual(times.get('greet')!.end);

    const repo = path.join(dir, 'var/repos/arch');
    const observed = readPacmanRepo(repo, 'arch', 'var/repos/arch');
    expect([...observed.entries.values()].map((e) => `${e.name} ${e.version} ${e.file}`).sort()).toEqual([
      'boxes-lite 0.3-2 boxes-lite-0.3-2-any.pkg.tar.gz',
      'greet 2.0-1 greet-2.0-1-any.pkg.tar.gz',
      'greetings-en 1.0-1 greetings-en-1.0-1-any.pkg.tar.gz',
      'greetings-fr 1.0-1 greetings-fr-1.0-1-any.pkg.tar.gz',
      'libgreet 1.2.0-1 libgreet-1.2.0-1-any.pkg.tar.gz',
    ]);
    expect(observed.entries.get('boxes-lite')?.provides).toEqual(['text-boxer=0.3']);
    // The example afterPublish hook (scripts/packages-txt.sh) read the database: name, version, description.
    expect(readFileSync(path.join(repo, 'packages.txt'), 'utf8')).toBe(
      [
        'boxes-lite\t0.3-2\tDraws boxes around text',
        'greet\t2.0-1\tGreets the world, in a box',
        'greetings-en\t1.0-1\tGreetings in English',
        'greetings-fr\t1.0-1\tGreetings in French',
        'libgreet\t1.2.0-1\tShell functions that greet',
        '',
      ].join('\n'),
    );

    // A second run has nothing to do.
    const plan = await runCli(['-C', dir, 'plan', '--detailed-exitcode']);
    expect({ code: plan.code, stderr: plan.stderr }).toEqual({ code: 0, stderr: '' });

    if (IS_ROOT && hasCommand('pacman')) {
      // Only the top package is asked for: pacman pulls greet, libgreet and, for text-boxer, boxes-lite.
      const { root, args } = pacmanInstall(dir, 'arch', repo, ['greetings-fr']);
      expect(execFileSync('pacman', [...args, '-Q'], { encoding: 'utf8' })).toBe('boxes-lite 0.3-2\ngreet 2.0-1\ngreetings-fr 1.0-1\nlibgreet 1.2.0-1\n');
      expect(readFileSync(path.join(root, 'usr/share/greetings/fr.txt'), 'utf8')).toBe('Bonjour, world!\n');
      // greet's banner was made at build time with libgreet and boxes-lite from the sysroot.
      expect(readFileSync(path.join(root, 'usr/share/greet/banner.txt'), 'utf8')).toBe(
        ['+-----------------------------+', '| Welcome, the greet package! |', '+-----------------------------+', ''].join('\n'),
      );
    }
  });

  it('is skipped with its reason where makepkg is not installed; the other branches build and the run exits 0', { timeout: 300_000 }, async () => {
    const dir = copyExample(['example', 'arch']);
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json'], { env: { PATH: pathWithout(['makepkg']) } });
    const why = 'no host has the commands pipeline makepkg requires (local lacks makepkg)';
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`branches/arch.yaml:13:11: warning: branch arch: ${why}; its builds are skipped\n  hint: install them on a host (see docs/ARCH.md for makepkg), or add a host that has them\n`);
    const doc = JSON.parse(run.stdout) as RunDocument;
    expect(results(doc, 'arch')).toEqual(['boxes-lite 0.3-2 skipped no-eligible-host', 'greet 2.0-1 skipped no-eligible-host', 'greetings 1.0-1 skipped no-eligible-host', 'libgreet 1.2.0-1 skipped no-eligible-host']);
    expect(doc.branches.find((b) => b.name === 'arch')!.results.map((r) => r.detail)).toEqual(Array(4).fill(why));
    expect(results(doc, 'example').filter((r) => r.endsWith(' built'))).toHaveLength(8);
    expect(readdirSync(path.join(dir, 'var/repos'))).toEqual(['example']);
  });

  it.skipIf(!IS_ROOT || !MAKEPKG)('is skipped with its reason when buildfleet runs as root and the build user does not exist', async () => {
    const dir = copyExample(['arch']);
    const plan = await runCli(['-C', dir, 'plan', '--format', 'json', '--detailed-exitcode'], { env: { BUILDFLEET_BUILD_USER: 'buildfleet-no-such-user' } });
    const why =
      "no host can run pipeline makepkg (local: buildfleet runs as root and makepkg's build user buildfleet-no-such-user does not exist: create it (useradd --system --no-create-home buildfleet-no-such-user) or set BUILDFLEET_BUILD_USER)";
    expect({ code: plan.code, stderr: plan.stderr }).toEqual({
      code: 0,
      stderr: `branches/arch.yaml:13:11: warning: branch arch: ${why}; its builds are skipped\n  hint: do what the reason says on the host, or add a host that passes the hostCheck of pipelines/makepkg.yaml (see docs/ARCH.md for makepkg)\n`,
    });
    const doc = JSON.parse(plan.stdout) as PlanDocument;
    expect(doc.branches[0]!.actions.map((a) => `${a.type} ${a.package} ${a.reason} ${a.detail}`).sort()).toEqual(
      ['boxes-lite', 'greet', 'greetings', 'libgreet'].map((p) => `skip ${p} no-eligible-host ${why}`),
    );
  });
});
