/**
 * kill -9 at any point of a pacman publish corrupts nothing: a child process
 * publishing a new version of every package (and removing one) is SIGKILLed at
 * seeded random moments; after each kill the database is whole, is either the
 * old one or the new one, and every file it names is there with its sha256; a
 * final publish reaches the new state and leaves no temporary file, lock or
 * superseded package behind. Signed (a repo with `sign:`), every signature
 * there after each kill verifies the file beside it: a database is at worst
 * unsigned for a moment, never signed by the signature of another.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SigningConfig } from '../../src/config/types.js';
import { readPacmanRepo } from '../../src/observe/pacmanRepo.js';
import { runCli } from '../helpers/cli.js';
import { gpgVerifies, hasCommand, makePackage, makeSigningKey, stopGpgAgent, type PackageSpec } from '../helpers/pacman.js';
import { sha256File } from '../helpers/reconcile-fixture.js';
import { killAtFirstDeletion, publishInChild as publishInChildProcess, seededRandom } from '../helpers/reconcile-process.js';
import { makeTree, removeTree, testdir } from '../helpers/testdir.js';

const SEED = process.env.CRASH_SEED !== undefined ? Number(process.env.CRASH_SEED) : 20261123;
const KILLS = 6;
const NAMES = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
/** The repository after the new versions are published and alpha removed: nothing else left behind. */
const FINAL_FILES = [
  'beta-2.0-1-any.pkg.tar.gz',
  'crash.buildfleet.json',
  'crash.db',
  'crash.db.tar.gz',
  'crash.files',
  'crash.files.tar.gz',
  'delta-2.0-1-any.pkg.tar.gz',
  'epsilon-2.0-1-any.pkg.tar.gz',
  'gamma-2.0-1-any.pkg.tar.gz',
  'zeta-2.0-1-any.pkg.tar.gz',
];

/** The publish request, as JSON for the child process. */
function request(repo: string, files: readonly string[], specs: readonly PackageSpec[], remove: readonly string[], sign?: SigningConfig): string {
  return JSON.stringify({
    ...(sign !== undefined ? { sign } : {}),
    repoPath: repo,
    repoName: 'crash',
    displayPath: 'repo',
    add: files.map((f, i) => ({
      source: f,
      entry: { name: specs[i]!.name, version: specs[i]!.version, file: path.basename(f), sha256: '', size: 0, depends: [], provides: [], fingerprint: `${specs[i]!.version}`.padEnd(64, '0'), recipe: specs[i]!.name },
    })),
    remove,
  });
}

/** Runs publishPacmanRepo (from dist/) in a child (see `publishInChild`). */
const publishInChild = (json: string, killAfterMs?: number, prelude = ''): Promise<'killed' | 'finished'> => publishInChildProcess('dist/publish/pacmanRepo.js', 'publishPacmanRepo', json, { killAfterMs, prelude });

/**
 * Problems of the repository as a reader sees it: the database parses, and names files that are
 * there with their sha256; with a GnuPG home, every signature there verifies the file beside it.
 */
function repoProblems(repo: string, gnupgHome?: string): string[] {
  const read = readPacmanRepo(repo, 'crash', 'repo');
  const problems = read.diagnostics.map((d) => d.message);
  for (const entry of read.entries.values()) {
    const file = path.join(repo, entry.file);
    if (!existsSync(file)) problems.push(`${entry.name}: ${entry.file} is missing`);
    else if (sha256File(file) !== entry.sha256) problems.push(`${entry.name}: ${entry.file} has another sha256`);
  }
  if (gnupgHome !== undefined) {
    for (const sig of readdirSync(repo).filter((f) => f.endsWith('.sig') && !f.startsWith('.'))) {
      const signed = path.join(repo, sig.slice(0, -'.sig'.length));
      if (existsSync(signed) && !gpgVerifies(gnupgHome, path.join(repo, sig), signed)) problems.push(`${sig} does not verify ${path.basename(signed)}`);
    }
  }
  return problems;
}

function versions(repo: string): string[] {
  return [...readPacmanRepo(repo, 'crash', 'repo').entries.values()].map((e) => `${e.name} ${e.version} ${e.fingerprint.slice(0, 5)}`).sort();
}

/** A repository directory (not made yet), and package files of two generations: all six at 1.0-1, then five at 2.0-1 (alpha removed). */
async function generations(): Promise<{ repo: string; old: PackageSpec[]; next: PackageSpec[]; oldFiles: string[]; newFiles: string[] }> {
  await runCli(['--version']); // refuses a stale dist/
  const dir = testdir({});
  const old = NAMES.map((name) => ({ name, version: '1.0-1' }));
  const next = NAMES.slice(1).map((name) => ({ name, version: '2.0-1' }));
  return { repo: path.join(dir, 'repo'), old, next, oldFiles: old.map((s) => makePackage(path.join(dir, 'pkgs'), s)), newFiles: next.map((s) => makePackage(path.join(dir, 'pkgs'), s)) };
}

describe.skipIf(!hasCommand('bsdtar'))('a pacman publish killed with SIGKILL', () => {
  let keyDir: string | undefined;
  afterAll(() => {
    if (keyDir === undefined) return;
    stopGpgAgent(path.join(keyDir, 'gnupg'));
    removeTree(keyDir);
  });

  it(`leaves the old or the new database, whole, and finishes on the next publish (seed ${SEED})`, { timeout: 180_000 }, async () => {
    await killedPublishes();
  });

  it.skipIf(!hasCommand('gpg'))(`signed: leaves no signature that does not verify its file, and finishes on the next publish (seed ${SEED})`, { timeout: 180_000 }, async () => {
    keyDir = makeTree({});
    const key = makeSigningKey(keyDir);
    await killedPublishes({ key: key.fingerprint, gnupgHome: key.home });
  });

  /** Publishes the first generation, kills publishes of the next at random moments (checking the repository after each), then finishes it. */
  async function killedPublishes(sign?: SigningConfig & { readonly gnupgHome: string }): Promise<void> {
    const { repo, old, next, oldFiles, newFiles } = await generations();

    // The kill moments fall within the time a whole publish takes on this machine (a fast machine
    // finishes before fixed delays of a few hundred milliseconds, and nothing would be killed).
    const started = performance.now();
    expect(await publishInChild(request(repo, oldFiles, old, [], sign))).toBe('finished');
    const publishMs = performance.now() - started;
    const before = versions(repo);
    const after = next.map((s) => `${s.name} ${s.version} 2.0-1`).sort();

    const random = seededRandom(SEED);
    const outcomes: string[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const delayMs = Math.round(20 + random() * publishMs);
      const outcome = await publishInChild(request(repo, newFiles, next, ['alpha'], sign), delayMs);
      outcomes.push(`${outcome} after ${delayMs} ms`);
      const context = `kill ${kill + 1}: ${outcomes.join(', ')} (seed ${SEED})`;
      expect(repoProblems(repo, sign?.gnupgHome), context).toEqual([]);
      expect([before, after], context).toContainEqual(versions(repo));
    }

    expect(outcomes.filter((o) => o.startsWith('killed')).length, outcomes.join(', ')).toBeGreaterThan(0);

    expect(await publishInChild(request(repo, newFiles, next, ['alpha'], sign))).toBe('finished');
    expect(repoProblems(repo, sign?.gnupgHome)).toEqual([]);
    expect(versions(repo)).toEqual(after);
    const signatures = ['crash.db.sig', 'crash.db.tar.gz.sig', 'crash.files.sig', 'crash.files.tar.gz.sig', ...FINAL_FILES.filter((f) => f.endsWith('.pkg.tar.gz')).map((f) => `${f}.sig`)];
    expect(readdirSync(repo).sort()).toEqual(sign !== undefined ? [...FINAL_FILES, ...signatures].sort() : FINAL_FILES);
  }

  it('deletes on the next publish the superseded files of a publish killed while it deleted them', { timeout: 60_000 }, async () => {
    const { repo, old, next, oldFiles, newFiles } = await generations();
    expect(await publishInChild(request(repo, oldFiles, old, []))).toBe('finished');
    const after = next.map((s) => `${s.name} ${s.version} 2.0-1`).sort();

    // Killed at its first deletion: the new database is in place, every old file still there.
    expect(await publishInChild(request(repo, newFiles, next, ['alpha']), undefined, killAtFirstDeletion('.pkg.tar.gz'))).toBe('killed');
    expect(repoProblems(repo)).toEqual([]);
    expect(versions(repo)).toEqual(after);
    expect(readdirSync(repo).filter((f) => f.includes('-1.0-1-')).length).toBe(NAMES.length);

    // The next publish (of the same packages: nothing new) deletes them.
    expect(await publishInChild(request(repo, newFiles, next, ['alpha']))).toBe('finished');
    expect(repoProblems(repo)).toEqual([]);
    expect(versions(repo)).toEqual(after);
    expect(readdirSync(repo).sort()).toEqual(FINAL_FILES);
  });
});

