/**
 * The repo's disk fills up while a run publishes its second generation: the repo
 * directory is a small tmpfs (mounted here: the tests run as root), filled so that
 * the publish runs out of space part-way — while copying a package file, and
 * separately while writing the index (plain) or the database (pacman). Each time:
 * the repo is still the old generation, whole (index or database and files agree,
 * sha256 included; pacman itself reads the database), nothing partial or temporary
 * is left in it, the run exits 3 naming the repo and the lack of space, the next
 * plan still wants the new generation, and the next run, with space again,
 * publishes it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { readPacmanRepo } from '../../src/observe/pacmanRepo.js';
import { runCli } from '../helpers/cli.js';
import { hasCommand, pacmanArgs, pacmanConf } from '../helpers/pacman.js';
import { readIndex, readLedgerLines, repoProblems, sha256File, type PlanDocument, type RunDocument } from '../helpers/reconcile-fixture.js';
import { BASE_HOSTS, recipeYaml, testdir, writeFiles, type Files } from '../helpers/testdir.js';

const PAGE = 4096;
/** Bytes of (incompressible) payload per package: about 60 pages. */
const PAYLOAD = 240_000;
const NAMES = ['alpha', 'beta'] as const;

/** Why a tmpfs cannot be mounted here, or undefined when it can. */
function mountRefused(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-tmpfs-probe-'));
  try {
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
    if (mounted.status !== 0) return `mount -t tmpfs refused: ${(mounted.stderr || mounted.error?.message || `status ${mounted.status}`).trim()}`;
    spawnSync('umount', [dir]);
    return undefined;
  } finally {
    rmdirSync(dir);
  }
}
const REFUSED = mountRefused();

/**
 * build.sh of a recipe: a deterministic package of the recipe's payload file (same bytes for
 * the same version), so that the test knows its size before the run.
 * plain: the payload itself; pacman: a .pkg.tar.gz with a .PKGINFO (fixed mtimes, gzip -n).
 */
function buildScript(format: 'plain' | 'pacman'): string {
  if (format === 'plain') return '#!/bin/sh\nset -eu\ncat payload > "$BUILDFLEET_OUT/$BUILDFLEET_PACKAGE-$BUILDFLEET_VERSION.bin"\n';
  return `#!/bin/sh
set -eu
root=$(mktemp -d)
mkdir -p "$root/usr/share/$BUILDFLEET_PACKAGE"
cp payload "$root/usr/share/$BUILDFLEET_PACKAGE/payload"
printf 'pkgname = %s\\npkgbase = %s\\npkgver = %s\\npkgdesc = %s\\narch = any\\nsize = ${PAYLOAD}\\n' "$BUILDFLEET_PACKAGE" "$BUILDFLEET_PACKAGE" "$BUILDFLEET_VERSION" "payload of $BUILDFLEET_PACKAGE" > "$root/.PKGINFO"
find "$root" -exec touch -h -d @1700000000 {} +
bsdtar -cf - --format=ustar --uid 0 --gid 0 --uname root --gname root -C "$root" .PKGINFO usr | gzip -n > "$BUILDFLEET_OUT/$BUILDFLEET_PACKAGE-$BUILDFLEET_VERSION-any.pkg.tar.gz"
rm -rf "$root"
`;
}

function config(format: 'plain' | 'pacman', version: string): Files {
  const files: Files = {
    'hosts.yaml': BASE_HOSTS,
    'pipelines/shell.yaml': 'steps:\n  - name: build\n    run: ./build.sh\n    timeout: 1m\n',
    'branches/main.yaml': `source:\n  path: recipes\n  format: recipe\npipeline: shell\nrepos:\n  - name: main\n    path: repos/main\n    format: ${format}\n`,
  };
  for (const name of NAMES) {
    files[`recipes/${name}/recipe.yaml`] = recipeYaml(name, { version });
    files[`recipes/${name}/build.sh`] = { mode: 0o755, content: buildScript(format) };
  }
  return files;
}

/** Runs a recipe's build.sh outside buildfleet, as a build would; returns the artifact's size. */
function artifactSize(dir: string, name: string, format: 'plain' | 'pacman', fullVersion: string): number {
  const out = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-artifact-'));
  try {
    execFileSync('./build.sh', [], { cwd: path.join(dir, 'recipes', name), env: { PATH: process.env.PATH ?? '', BUILDFLEET_OUT: out, BUILDFLEET_PACKAGE: name, BUILDFLEET_VERSION: fullVersion } });
    const [file] = readdirSync(out);
    return readFileSync(path.join(out, file!)).length;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Fills the file system of `dir` with `<dir>/.filler` so that exactly `pages` pages stay free. */
function leaveFree(dir: string, pages: number): void {
  rmSync(path.join(dir, '.filler'), { force: true });
  const stats = statfsSync(dir);
  expect(stats.bsize).toBe(PAGE);
  const fill = (stats.bavail - pages) * PAGE;
  expect(fill).toBeGreaterThan(0);
  writeFileSync(path.join(dir, '.filler'), Buffer.alloc(fill, 1));
  expect(statfsSync(dir).bavail).toBe(pages);
}

/** What is wrong with the repo as a reader sees it (index or database, files, sha256), plus leftover temporaries. */
function problems(repo: string, format: 'plain' | 'pacman'): string[] {
  const leftovers = readdirSync(repo).filter((f) => f.endsWith('.tmp') || f.includes('.partial') || f.endsWith('.lck'));
  const found = leftovers.map((f) => `left behind: ${f}`);
  if (format === 'plain') return [...found, ...repoProblems(repo)];
  const read = readPacmanRepo(repo, 'main', 'repo');
  found.push(...read.diagnostics.map((d) => d.message));
  for (const entry of read.entries.values()) {
    const file = path.join(repo, entry.file);
    try {
      if (sha256File(file) !== entry.sha256) found.push(`${entry.name}: ${entry.file} has another sha256`);
    } catch {
      found.push(`${entry.name}: ${entry.file} is missing`);
    }
  }
  return found;
}

/** `name version` of what the repo holds; for pacman as pacman itself reads the database (`pacman -Sl`). */
function generation(dir: string, repo: string, format: 'plain' | 'pacman'): string[] {
  if (format === 'plain') return (readIndex(repo) ?? []).map((e) => `${e.name} ${e.version}`).sort();
  const root = path.join(dir, `pacman-root-${Math.random().toString(36).slice(2, 8)}`);
  const conf = path.join(dir, 'pacman.conf');
  writeFileSync(conf, pacmanConf('main', repo));
  const args = pacmanArgs(root, conf);
  execFileSync('pacman', [...args, '-Sy'], { stdio: 'ignore' });
  const listed = execFileSync('pacman', [...args, '-Sl', 'main'], { encoding: 'utf8' });
  rmSync(root, { recursive: true, force: true });
  return listed
    .trim()
    .split('\n')
    .map((line) => line.split(' ').slice(1, 3).join(' '))
    .sort();
}

/** Files in the repo that no index or database names (besides its own files and the filler). */
function unnamed(repo: string, format: 'plain' | 'pacman'): string[] {
  const named = new Set(format === 'plain' ? (readIndex(repo) ?? []).map((e) => e.file) : [...readPacmanRepo(repo, 'main', 'repo').entries.values()].map((e) => e.file));
  const own = format === 'plain' ? ['index.json'] : ['main.db', 'main.db.tar.gz', 'main.files', 'main.files.tar.gz', 'main.buildfleet.json'];
  return readdirSync(repo).filter((f) => f !== '.filler' && f !== 'lost+found' && !own.includes(f) && !named.has(f));
}

type Stage = 'package file' | 'index';

const CASES: readonly { format: 'plain' | 'pacman'; stage: Stage }[] = [
  { format: 'plain', stage: 'package file' },
  { format: 'plain', stage: 'index' },
  { format: 'pacman', stage: 'package file' },
  { format: 'pacman', stage: 'index' },
];

describe.skipIf(REFUSED !== undefined)(`disk full while publishing${REFUSED !== undefined ? ` (skipped: ${REFUSED}; no ENOSPC injection fallback)` : ''}`, () => {
  for (const { format, stage } of CASES) {
    const what = stage === 'index' ? (format === 'plain' ? 'index.json' : 'database') : 'package file';
    it.skipIf(format === 'pacman' && !(hasCommand('bsdtar') && hasCommand('pacman')))(
      `${format} repo, out of space while writing the ${what}: old generation whole, nothing partial, exit 3 naming the repo; the next run publishes`,
      { timeout: 120_000 },
      async () => {
        const dir = testdir({});
        const repo = path.join(dir, 'repos', 'main');
        mkdirSync(repo, { recursive: true });
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', repo]);
        onTestFinished(() => {
          spawnSync('umount', ['-l', repo]);
        });
        writeFiles(dir, config(format, '1.0'));
        for (const name of NAMES) writeFileSync(path.join(dir, 'recipes', name, 'payload'), randomBytes(PAYLOAD));

        const first = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
        expect(first.code, first.stderr).toBe(0);
        const oldGeneration = generation(dir, repo, format);
        expect(oldGeneration.map((l) => l.split(' ')[0])).toEqual([...NAMES]);
        expect(problems(repo, format)).toEqual([]);

        // The second generation; the disk is filled so that it runs out part-way.
        writeFiles(dir, Object.fromEntries(NAMES.map((name) => [`recipes/${name}/recipe.yaml`, recipeYaml(name, { version: '2.0' })])));
        const newVersion = oldGeneration[0]!.split(' ')[1]!.replace(/^1\.0/, '2.0');
        const pages = NAMES.map((name) => Math.ceil(artifactSize(dir, name, format, newVersion) / PAGE));
        // package file: the first fits, the second runs out half-way. index: both fit; plain: the
        // lock (one page), not the index; pacman: the sidecar (one page, its old copy freed by the
        // rename), then not the databases.
        leaveFree(repo, stage === 'package file' ? pages[0]! + Math.floor(pages[1]! / 2) : pages[0]! + pages[1]! + 1);

        const full = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
        expect(full.code, full.stderr).toBe(3);
        const doc = JSON.parse(full.stdout) as RunDocument;
        const errors = doc.branches[0]!.errors ?? [];
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatch(/^publishing to repo main failed: ENOSPC: no space left on device/);
        // Where it ran out: copying the second package in, or writing the index/database after both were in.
        if (stage === 'package file') expect(errors[0]).toMatch(/copyfile .*beta-2\.0[^']*' -> '.*\.tmp'/);
        else expect(errors[0]).not.toContain('copyfile');
        expect(errors[0]).toContain('the repo is unchanged and the builds are kept for the next run');
        expect(doc.branches[0]!.results.map((r) => `${r.package} ${r.status}`).sort()).toEqual(NAMES.map((n) => `${n} built`));
        expect(problems(repo, format)).toEqual([]);
        expect(generation(dir, repo, format)).toEqual(oldGeneration);
        expect(unnamed(repo, format)).toEqual([]);
        // The ledger records the builds, and nothing that says they were published: the plan still wants them.
        const ledger = readLedgerLines(path.join(dir, 'var'));
        expect(ledger.unparsable).toEqual([]);
        expect(ledger.records.filter((r) => r.version.startsWith('2.0')).map((r) => `${r.kind} ${r.recipe} ${r.status}`).sort()).toEqual(NAMES.map((n) => `build ${n} built`));
        const plan = await runCli(['-C', dir, 'plan', '--format', 'json']);
        expect(plan.code, plan.stderr).toBe(0);
        const actions = (JSON.parse(plan.stdout) as PlanDocument).branches[0]!.actions;
        expect(actions.map((a) => `${a.type} ${a.package} ${a.version}`).sort()).toEqual(NAMES.map((n) => `build ${n} ${newVersion}`));

        // Space again: the next run publishes the kept builds (from the artifact cache, without building).
        rmSync(path.join(repo, '.filler'));
        const next = await runCli(['-C', dir, 'reconcile', '--format', 'json']);
        expect(next.code, next.stderr).toBe(0);
        expect(problems(repo, format)).toEqual([]);
        expect(generation(dir, repo, format)).toEqual(NAMES.map((n) => `${n} ${newVersion}`));
        expect(unnamed(repo, format)).toEqual([]);
      },
    );
  }
});
