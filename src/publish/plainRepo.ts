/**
 * Publishes into a plain repository: package files first (each written under a
 * temporary name, fsynced, renamed), then `index.json` replaced atomically, and
 * only then the files the new index no longer names are deleted. A reader never
 * sees a half-written index or an indexed file that is missing, and a file named
 * by the current index is never overwritten in place. It holds `.buildfleet.lck` while it
 * works, so a second publish into the same directory (another config repository's) fails
 * cleanly instead of losing the first one's entries.
 */
import { existsSync, readFileSync } from 'node:fs';
import { open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { isPlainFileName, readPlainIndex, INDEX_FILE, INDEX_FORMAT_VERSION, type PlainIndex } from '../observe/plainRepo.js';
import type { RepoEntry } from '../observe/types.js';
import { ensureDir, fsyncDir, fsyncFile, hashFile, linkOrCopy, writeFileAtomic } from '../execute/fsUtil.js';
import { isProcessAlive } from '../execute/runStep.js';

export interface PackageToPublish {
  /** The index entry; `file` is the wished file name (made unique when it is taken). */
  readonly entry: RepoEntry;
  /** Absolute path of the package file to copy in. */
  readonly source: string;
}

export interface PublishRequest {
  readonly repoPath: string;
  /** How the repo is shown in messages. */
  readonly displayPath: string;
  readonly add: readonly PackageToPublish[];
  /** Package names to take out of the index. */
  readonly remove: readonly string[];
}

export interface PublishResult {
  /** Entries as indexed (with their final file names). */
  readonly published: readonly RepoEntry[];
  readonly removed: readonly RepoEntry[];
  /** Files deleted after the new index was in place. */
  readonly deletedFiles: readonly string[];
  /**
   * Files the new index no longer names that could not be deleted (one message each, with
   * the reason). The publish itself succeeded: the repo is consistent, with a stray file.
   */
  readonly leftFiles: readonly string[];
  /** Package files this publish signed (a pacman repo with `sign:`): those it put in, and those it found unsigned. */
  readonly signed?: readonly string[];
}

/** Held by a plain repository's publish, beside its index: a second publish into the same repository (another config repository's) fails cleanly while it is held. */
export const LOCK_FILE = '.buildfleet.lck';

export async function publishPlainRepo(request: PublishRequest): Promise<PublishResult> {
  await ensureDir(request.repoPath);
  const release = await lockRepo(path.join(request.repoPath, LOCK_FILE), request.displayPath);
  try {
    return await publishLocked(request);
  } finally {
    await release();
  }
}

async function publishLocked(request: PublishRequest): Promise<PublishResult> {
  const current = readPlainIndex(request.repoPath, request.displayPath);
  if (current.diagnostics.length > 0) throw new Error(current.diagnostics.map((d) => `${d.file}: ${d.message}`).join('; '));
  const indexedFiles = new Map<string, RepoEntry>();
  for (const entry of current.entries.values()) indexedFiles.set(entry.file, entry);

  const next = new Map(current.entries);
  const pending = readSuperseded(request.repoPath);
  const published: RepoEntry[] = [];
  // Files this publish put in that the current index does not name: taken out again when it fails (a full disk).
  const placed: string[] = [];
  const removed: RepoEntry[] = [];
  let superseded: string[];
  try {
    for (const item of request.add) {
      const { sha256, size } = await hashFile(item.source);
      let file = item.entry.file;
      const holder = indexedFiles.get(file);
      if (holder !== undefined && holder.sha256 !== sha256) {
        // Same name, other content (a rebuild of the same version): never overwrite in place.
        file = uniqueName(file, item.entry.name, item.entry.version, item.entry.fingerprint);
      }
      if (holder === undefined || holder.sha256 !== sha256) {
        await placePackageFile(item.source, request.repoPath, file);
        placed.push(file);
      }
      const entry: RepoEntry = { ...item.entry, file, sha256, size };
      next.set(entry.name, entry);
      published.push(entry);
    }
    for (const name of request.remove) {
      const entry = next.get(name);
      if (entry !== undefined) {
        next.delete(name);
        removed.push(entry);
      }
    }
    await fsyncDir(request.repoPath);

    const index: PlainIndex = { formatVersion: INDEX_FORMAT_VERSION, packages: [...next.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
    // Before the index: the files it will no longer name (with those a killed publish left to
    // delete), so that a publish killed after the swap leaves them to the next one, not for good.
    const named = new Set(index.packages.map((p) => p.file));
    superseded = [...new Set([...pending, ...[...current.entries.values()].map((e) => e.file)])].filter((f) => !named.has(f));
    await writeSuperseded(request.repoPath, superseded);
    await writeFileAtomic(path.join(request.repoPath, INDEX_FILE), `${JSON.stringify(index, null, 1)}\n`);
  } catch (error) {
    // The old index is still in place: the repo is left as this publish found it.
    await removeUnpublished(request.repoPath, placed);
    throw error;
  }

  // The new index is in place: files it no longer names can go, then the record of them (but of
  // those that could not be deleted: the next publish tries again).
  const { deletedFiles, leftFiles } = await deleteSuperseded(request.repoPath, superseded);
  await writeSuperseded(
    request.repoPath,
    superseded.filter((f) => existsSync(path.join(request.repoPath, f))),
  ).catch((error: unknown) => leftFiles.push(`${SUPERSEDED_FILE} (${(error as Error).message})`));
  return { published, removed, deletedFiles, leftFiles };
}

/**
 * Beside index.json: the files a publish is about to stop naming, written before the new index
 * and emptied once they are deleted. A publish killed in between leaves it, and the next one
 * deletes those of its files that its own index does not name.
 */
export const SUPERSEDED_FILE = '.buildfleet-superseded.json';

/** The files a killed publish left to delete (none when there is no record, or one that is not a list of plain file names). */
function readSuperseded(repoPath: string): string[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path.join(repoPath, SUPERSEDED_FILE), 'utf8'));
  } catch {
    return [];
  }
  const files = (data as { files?: unknown } | null)?.files;
  return Array.isArray(files) && files.every((f) => typeof f === 'string' && isPlainFileName(f) && f !== INDEX_FILE) ? (files as string[]) : [];
}

/** Records `files` as left to delete, or removes the record when there is none. */
async function writeSuperseded(repoPath: string, files: readonly string[]): Promise<void> {
  const file = path.join(repoPath, SUPERSEDED_FILE);
  if (files.length === 0) await rm(file, { force: true });
  else await writeFileAtomic(file, `${JSON.stringify({ files: [...files].sort() }, null, 1)}\n`);
}

/**
 * After a new index (or database) is in place: deletes the files it no longer names and
 * stale temporaries. Never throws: the publish has already happened, so a file that cannot
 * be deleted is reported (in `leftFiles`) rather than failing it.
 */
export async function deleteSuperseded(repoPath: string, files: Iterable<string>): Promise<{ deletedFiles: string[]; leftFiles: string[] }> {
  const deletedFiles: string[] = [];
  const leftFiles: string[] = [];
  for (const file of files) {
    try {
      await unlink(path.join(repoPath, file));
      deletedFiles.push(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') leftFiles.push(`${file} (${(error as Error).message})`);
    }
  }
  await removeStaleTemporaries(repoPath).catch((error: unknown) => leftFiles.push(`temporaries (${(error as Error).message})`));
  return { deletedFiles, leftFiles };
}

/**
 * Copies (or hard-links) a package file into the repo under a temporary name, fsyncs it, then renames it to `file`.
 * When that fails (the disk is full), the temporary is removed: nothing partial stays in the repo.
 */
export async function placePackageFile(source: string, repoPath: string, file: string): Promise<void> {
  await placeFile(repoPath, file, (tmp) => linkOrCopy(source, tmp));
}

/** Places `file` in the repo as {@link placePackageFile} does, its content written to the temporary by `write`. */
export async function placeFile(repoPath: string, file: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = path.join(repoPath, `.${file}.${process.pid}.tmp`);
  await rm(tmp, { force: true });
  try {
    await write(tmp);
    await fsyncFile(tmp);
    await rename(tmp, path.join(repoPath, file));
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * After a publish failed before its new index (or database) was in place: removes the
 * package files it placed, which nothing names (`placed`), and its own temporaries.
 */
export async function removeUnpublished(repoPath: string, placed: readonly string[]): Promise<void> {
  for (const file of placed) await rm(path.join(repoPath, file), { force: true }).catch(() => undefined);
  await removeStaleTemporaries(repoPath).catch(() => undefined);
}

/** `zlib-1.3.1-2.tar.gz` → `zlib-1.3.1-2+b3fa9c01e2d.tar.gz` (like Debian's binary rebuild suffix). */
export function uniqueName(file: string, name: string, version: string, fingerprint: string): string {
  const tag = `+b${fingerprint.slice(0, 10)}`;
  const prefix = `${name}-${version}`;
  if (file.startsWith(prefix)) return `${prefix}${tag}${file.slice(prefix.length)}`;
  return `${tag.slice(1)}-${file}`;
}

/** Temporaries (files or staging directories) left by a publish that was killed. */
export async function removeStaleTemporaries(repoPath: string): Promise<void> {
  for (const entry of await readdir(repoPath)) {
    if (entry.startsWith('.') && entry.endsWith('.tmp')) {
      const pid = Number(/\.(\d+)\.tmp$/.exec(entry)?.[1] ?? Number.NaN);
      if (pid === process.pid || !isProcessAlive(pid)) await rm(path.join(repoPath, entry), { force: true, recursive: true });
    }
  }
}

/**
 * A repository's lock, as repo-add takes it: `lockFile` created exclusively, holding the pid; a
 * lock of a dead process is taken over, one of a live one (another publish, repo-add) is an error.
 */
export async function lockRepo(lockFile: string, displayPath: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return async () => rm(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
      if (isProcessAlive(holder)) {
        throw new Error(`${displayPath}/${path.basename(lockFile)} is held by process ${holder} (repo-add or another publish); try again when it is done`);
      }
      await rm(lockFile, { force: true });
    }
  }
  throw new Error(`cannot take the lock ${displayPath}/${path.basename(lockFile)}`);
}
