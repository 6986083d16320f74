/**
 * publishPlainRepo: a file named by the current index is never overwritten in
 * place, and files the index stops naming are deleted only after the new index
 * is written; those a publish could not delete (or was killed before it did) are
 * deleted by the next one. Real files in a temporary directory.
 */
import { spawn } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RepoEntry } from '../../src/observe/types.js';
import { LOCK_FILE, publishPlainRepo, SUPERSEDED_FILE, type PackageToPublish } from '../../src/publish/plainRepo.js';
import { runCli } from '../helpers/cli.js';
import { killAtFirstDeletion, publishInChild } from '../helpers/reconcile-process.js';
import { testdir } from '../helpers/testdir.js';
import { readIndex, repoFiles, repoProblems, sha256File } from '../helpers/reconcile-fixture.js';

/** A package file with `content` under <dir>/build/, and what reconcile would ask to publish for it. */
function built(dir: string, name: string, version: string, fingerprint: string, content: string): PackageToPublish {
  const source = path.join(dir, 'build', fingerprint, `${name}-${version}.txt`);
  mkdirSync(path.dirname(source), { recursive: true });
  writeFileSync(source, content);
  const entry: RepoEntry = { name, version, file: `${name}-${version}.txt`, sha256: '', size: 0, depends: [], provides: [], fingerprint, recipe: name };
  return { entry, source };
}

describe('publishPlainRepo', () => {
  it('publishes a rebuild of the same version with other content under a new name, leaving the indexed file untouched', async () => {
    const dir = testdir({});
    const repo = path.join(dir, 'repo');
    const first = await publishPlainRepo({ repoPath: repo, displayPath: 'repo', add: [built(dir, 'zlib', '1.3-1', 'f'.repeat(64), 'first build\n')], remove: [] });
    expect(first.published.map((e) => e.file)).toEqual(['zlib-1.3-1.txt']);
    const oldFile = path.join(repo, 'zlib-1.3-1.txt');
    const oldSha = sha256File(oldFile);
    // A second name for the indexed file's inode: an in-place write would show through it.
    const witness = path.join(dir, 'witness');
    linkSync(oldFile, witness);

    const second = await publishPlainRepo({ repoPath: repo, displayPath: 'repo', add: [built(dir, 'zlib', '1.3-1', 'a'.repeat(64), 'second build, other bytes\n')], remove: [] });
    const newName = second.published[0]!.file;
    expect(newName).not.toBe('zlib-1.3-1.txt');
    expect(newName).toMatch(/^zlib-1\.3-1.+\.txt$/);
    expect(readFileSync(witness, 'utf8')).toBe('first build\n');
    expect(sha256File(witness)).toBe(oldSha);
    expect(readIndex(repo)).toEqual([expect.objectContaining({ name: 'zlib', file: newName, fingerprint: 'a'.repeat(64), sha256: sha256File(path.join(repo, newName)) })]);
    expect(readFileSync(path.join(repo, newName), 'utf8')).toBe('second build, other bytes\n');
    // The superseded file is gone once the new index is in place.
    expect(second.deletedFiles).toEqual(['zlib-1.3-1.txt']);
    expect(repoFiles(repo)).toEqual(['index.json', newName]);
    expect(repoProblems(repo)).toEqual([]);
  });

  it('writes the new index before it deletes the superseded file', async () => {
    const dir = testdir({});
    const repo = path.join(dir, 'repo');
    await publishPlainRepo({ repoPath: repo, displayPath: 'repo', add: [built(dir, 'zlib', '1.3-1', 'f'.repeat(64), 'first build\n')], remove: [] });
    // Make the superseded file impossible to delete (a non-empty directory of its name): the deletion
    // fails, and what is on disk then shows what the publish had done before it.
    rmSync(path.join(repo, 'zlib-1.3-1.txt'));
    mkdirSync(path.join(repo, 'zlib-1.3-1.txt', 'in-the-way'), { recursive: true });

    const result = await publishPlainRepo({ repoPath: repo, displayPath: 'repo', add: [built(dir, 'zlib', '1.4-1', 'b'.repeat(64), 'version 1.4\n')], remove: [] });
    expect(readIndex(repo)).toEqual([expect.objectContaining({ name: 'zlib', version: '1.4-1', file: 'zlib-1.4-1.txt' })]);
    // The publish happened (the new index is in place), so it is not reported as failed: the file
    // left behind is named instead, for publishBranch to report.
    expect(result.published.map((e) => e.file)).toEqual(['zlib-1.4-1.txt']);
    expect(result.deletedFiles).toEqual([]);
    expect(result.leftFiles).toEqual([expect.stringMatching(/^zlib-1\.3-1\.txt \(E(ISDIR|PERM)/)]);
    expect(repoProblems(repo)).toEqual([]);

    // Remembered, and deleted by the next publish once it can be.
    expect(JSON.parse(readFileSync(path.join(repo, SUPERSEDED_FILE), 'utf8'))).toEqual({ files: ['zlib-1.3-1.txt'] });
    rmSync(path.join(repo, 'zlib-1.3-1.txt'), { recursive: true });
    writeFileSync(path.join(repo, 'zlib-1.3-1.txt'), 'first build\n');
    const next = await publishPlainRepo({ repoPath: repo, displayPath: 'repo', add: [], remove: [] });
    expect(next.deletedFiles).toEqual(['zlib-1.3-1.txt']);
    expect(readdirSync(repo).sort()).toEqual(['index.json', 'zlib-1.4-1.txt']);
  });

  it('deletes on the next publish the superseded files of a publish killed while it deleted them', { timeout: 60_000 }, async () => {
    await runCli(['--version']); // refuses a stale dist/
    const dir = testdir({});
    const repo = path.join(dir, 'repo');
    await publishPlainRepo({ repoPath: repo, displayPath: 'repo', add: ['a', 'b', 'c'].map((n) => built(dir, n, '1.0-1', '1'.repeat(64), `${n} 1.0\n`)), remove: [] });
    const request = { repoPath: repo, displayPath: 'repo', add: ['a', 'b'].map((n) => built(dir, n, '2.0-1', '2'.repeat(64), `${n} 2.0\n`)), remove: ['c'] };

    // Killed at its first deletion: the new index is in place, every old file still there.
    expect(await publishInChild('dist/publish/plainRepo.js', 'publishPlainRepo', JSON.stringify(request), { prelude: killAtFirstDeletion('.txt') })).toBe('killed');
    expect(readIndex(repo)!.map((e) => e.file)).toEqual(['a-2.0-1.txt', 'b-2.0-1.txt']);
    expect(repoProblems(repo)).toEqual([]);
    expect(repoFiles(repo)).toEqual(['a-1.0-1.txt', 'a-2.0-1.txt', 'b-1.0-1.txt', 'b-2.0-1.txt', 'c-1.0-1.txt', 'index.json']);

    // The next publish (nothing new) deletes them, and its record of them.
    const next = await publishPlainRepo({ repoPath: repo, displayPath: 'repo', add: [], remove: [] });
    expect([...next.deletedFiles].sort()).toEqual(['a-1.0-1.txt', 'b-1.0-1.txt', 'c-1.0-1.txt']);
    expect(readdirSync(repo).sort()).toEqual(['a-2.0-1.txt', 'b-2.0-1.txt', 'index.json']);
    expect(repoProblems(repo)).toEqual([]);
  });

  it('keeps the file of a rebuild with the same content, and deletes the file of a removed package', async () => {
    const dir = testdir({});
    const repo = path.join(dir, 'repo');
    await publishPlainRepo({
      repoPath: repo,
      displayPath: 'repo',
      add: [built(dir, 'lib', '1.0-1', '1'.repeat(64), 'lib\n'), built(dir, 'old', '0.9-1', '2'.repeat(64), 'old\n')],
      remove: [],
    });
    const same = await publishPlainRepo({ repoPath: repo, displayPath: 'repo', add: [built(dir, 'lib', '1.0-1', '3'.repeat(64), 'lib\n')], remove: ['old'] });
    expect(same.published.map((e) => e.file)).toEqual(['lib-1.0-1.txt']);
    expect(same.removed.map((e) => e.name)).toEqual(['old']);
    expect(same.deletedFiles).toEqual(['old-0.9-1.txt']);
    expect(repoFiles(repo)).toEqual(['index.json', 'lib-1.0-1.txt']);
    expect(readIndex(repo)!.map((e) => `${e.name} ${e.fingerprint[0]}`)).toEqual(['lib 3']);
    expect(repoProblems(repo)).toEqual([]);
  });

  it('lets one of two simultaneous publishes take the repository lock, and the other fail without touching the repository', async () => {
    const dir = testdir({});
    const repo = path.join(dir, 'repo');
    await publishPlainRepo({ repoPath: repo, displayPath: 'repo', add: [built(dir, 'base', '1.0-1', '0'.repeat(64), 'base\n')], remove: [] });
    // Without the lock, both read the index before either writes it, and the later index drops the other's package.
    const results = await Promise.allSettled([
      publishPlainRepo({ repoPath: repo, displayPath: 'repo', add: [built(dir, 'left', '1.0-1', '1'.repeat(64), 'left\n')], remove: [] }),
      publishPlainRepo({ repoPath: repo, displayPath: 'repo', add: [built(dir, 'right', '1.0-1', '2'.repeat(64), 'right\n')], remove: [] }),
    ]);
    const won = results.findIndex((r) => r.status === 'fulfilled');
    const lost = results.find((r) => r.status === 'rejected');
    expect(won).toBeGreaterThanOrEqual(0);
    expect(lost?.reason).toEqual(new Error(`repo/${LOCK_FILE} is held by process ${process.pid} (repo-add or another publish); try again when it is done`));
    const winner = won === 0 ? 'left' : 'right';
    expect(readIndex(repo)!.map((e) => e.name)).toEqual(['base', winner]);
    expect(repoFiles(repo)).toEqual(['base-1.0-1.txt', 'index.json', `${winner}-1.0-1.txt`].sort());
    expect(existsSync(path.join(repo, LOCK_FILE))).toBe(false);
    expect(repoProblems(repo)).toEqual([]);
  });

  it('refuses a repository locked by a live process, and takes over the lock of a dead one', async () => {
    const dir = testdir({});
    const repo = path.join(dir, 'repo');
    mkdirSync(repo, { recursive: true });
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(path.join(repo, LOCK_FILE), `${holder.pid}\n`);
      await expect(publishPlainRepo({ repoPath: repo, displayPath: 'repo', add: [built(dir, 'zlib', '1.3-1', 'f'.repeat(64), 'zlib\n')], remove: [] })).rejects.toThrow(
        `repo/${LOCK_FILE} is held by process ${holder.pid}`,
      );
      expect(readdirSync(repo)).toEqual([LOCK_FILE]);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    const result = await publishPlainRepo({ repoPath: repo, displayPath: 'repo', add: [built(dir, 'zlib', '1.3-1', 'f'.repeat(64), 'zlib\n')], remove: [] });
    expect(result.published.map((e) => e.file)).toEqual(['zlib-1.3-1.txt']);
    expect(readdirSync(repo).sort()).toEqual(['index.json', 'zlib-1.3-1.txt']);
  });
});
