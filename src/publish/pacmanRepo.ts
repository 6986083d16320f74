/**
 * Publishes into a pacman repository, in an order that keeps it consistent
 * whenever the process dies:
 *
 * 1. package files copied in under temporary names, fsynced, renamed (a file
 *    named by the current database is never overwritten in place);
 * 2. the sidecar `<name>.buildfleet.json` rewritten with the records of the old
 *    and the new files (a record applies only to the file and sha256 the
 *    database names, so extra records are harmless);
 * 3. `<name>.files.tar.gz` and `<name>.db.tar.gz` each written whole under a
 *    temporary name, then renamed over the old ones, and the `<name>.db` /
 *    `<name>.files` links pointed at them — readers see the old database or the
 *    new one, never a part; when writing fails (a full disk), the package files
 *    placed in step 1 and every temporary are removed again, and the old
 *    databases stay;
 * 4. the sidecar pruned to the files the new database names;
 * 5. superseded package files (and their `.sig`) deleted — also those a
 *    publish killed half-way left behind (the sidecar still names them).
 *
 * A repo with `sign:` gets a detached signature of each package it publishes
 * (`<file>.sig`, placed with the package in step 1, and `%PGPSIG%` in its entry,
 * as repo-add 6.0 records it) and of both databases (`<db>.sig`, renamed in
 * right after its database, with the `<name>.db.sig` / `<name>.files.sig`
 * links that `repo-add --sign` makes). Each file is signed before it is
 * placed, and a failure takes out what the publish placed (as a full disk
 * does): a key that cannot sign leaves the repository as it was. A package
 * already in the database with no signature (published before `sign:`, or
 * adopted) is signed too. Without `sign:`, a database signature left by an
 * earlier signed publish (or `repo-add --sign`) is removed with the old
 * database, as repo-add does: it would not match the new one.
 *
 * Entries of packages this publish does not touch are kept byte for byte, so a
 * repository made with `repo-add` keeps what repo-add wrote. Like repo-add, it
 * holds `<name>.db.tar.gz.lck` while it works.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { create as createTar } from 'tar';
import { ensureDir, fsyncDir, fsyncFile, writeFileAtomic } from '../execute/fsUtil.js';
import {
  PACMAN_SIDECAR_FORMAT_VERSION,
  pacmanRepoFiles,
  parseDesc,
  readArchive,
  readPacmanRepo,
  repoEntryOf,
  tarFiles,
  type PacmanSidecar,
  type PacmanSidecarRecord,
} from '../observe/pacmanRepo.js';
import type { RepoEntry } from '../observe/types.js';
import type { SigningConfig } from '../config/types.js';
import { detachSign, digestFile, formatDesc, formatFiles, hasPgpsig, listPackageMembers, parsePkgInfo, readPkgInfoText, withPgpsig } from './pacmanPackage.js';
import { deleteSuperseded, lockRepo, placeFile, placePackageFile, removeUnpublished, uniqueName, type PackageToPublish, type PublishResult } from './plainRepo.js';

export interface PacmanPublishRequest {
  readonly repoPath: string;
  /** The repo's name: the database is `<name>.db.tar.gz`. */
  readonly repoName: string;
  /** How the repo is shown in messages. */
  readonly displayPath: string;
  readonly add: readonly PackageToPublish[];
  /** Package names to take out of the database. */
  readonly remove: readonly string[];
  /** Sign the packages and the databases with this key (the repo's `sign:`). */
  readonly sign?: SigningConfig;
}

/** One package of the database being made: its directory, `desc` and `files` texts. */
interface DbPackage {
  readonly dir: string;
  readonly desc: string;
  /** Absent for entries adopted from a database without a files database. */
  readonly files?: string;
}

export async function publishPacmanRepo(request: PacmanPublishRequest): Promise<PublishResult> {
  const { repoPath } = request;
  const names = pacmanRepoFiles(request.repoName);
  await ensureDir(repoPath);
  const release = await lockRepo(path.join(repoPath, `${names.db}.lck`), request.displayPath);
  try {
    return await publishLocked(request, names);
  } finally {
    await release();
  }
}

async function publishLocked(request: PacmanPublishRequest, names: ReturnType<typeof pacmanRepoFiles>): Promise<PublishResult> {
  const { repoPath } = request;
  const current = readPacmanRepo(repoPath, request.repoName, request.displayPath);
  if (current.diagnostics.length > 0) throw new Error(current.diagnostics.map((d) => `${d.file}: ${d.message}`).join('; '));
  const currentFiles = readFilesDatabase(path.join(repoPath, names.files));

  const next = new Map<string, DbPackage>();
  for (const [name, entry] of current.dbEntries) {
    const files = currentFiles.get(entry.dir);
    next.set(name, { dir: entry.dir, desc: entry.desc, ...(files !== undefined ? { files } : {}) });
  }
  const entries = new Map(current.entries);
  const byFile = new Map<string, RepoEntry>([...current.entries.values()].map((e) => [e.file, e]));
  // Every record kept until the new database is in place (those of files a killed publish left included).
  const records: Record<string, PacmanSidecarRecord> = { ...current.sidecar.packages };

  const published: RepoEntry[] = [];
  // Files this publish put in that the current database does not name: taken out again when it fails (a full disk).
  const placed: string[] = [];
  const removed: RepoEntry[] = [];
  const signed: string[] = [];
  const sidecarFile = path.join(repoPath, names.sidecar);
  try {
    for (const item of request.add) {
      const info = parsePkgInfo(await readPkgInfoText(item.source));
      const pkgname = info.scalars.get('pkgname') ?? '';
      const pkgver = info.scalars.get('pkgver') ?? '';
      if (pkgname !== item.entry.name || pkgver !== item.entry.version) {
        throw new Error(
          `${path.basename(item.source)} holds ${pkgname || '(no pkgname)'} ${pkgver || '(no pkgver)'} according to its .PKGINFO, but the recipe says ${item.entry.name} ${item.entry.version}: make the recipe's name and version match the PKGBUILD`,
        );
      }
      const facts = await digestFile(item.source);
      let file = item.entry.file;
      const holder = byFile.get(file);
      if (holder !== undefined && holder.sha256 !== facts.sha256) file = uniqueName(file, item.entry.name, item.entry.version, item.entry.fingerprint);
      const place = holder === undefined || holder.sha256 !== facts.sha256;
      // Signed before the file is placed; a file already there (the same bytes) keeps a signature it has.
      const signature = request.sign === undefined ? undefined : await signatureOf(repoPath, file, item.source, request.sign, { reuse: !place, placed, signed });
      if (place) {
        await placePackageFile(item.source, repoPath, file);
        placed.push(file);
      }
      if (signature === undefined && place) {
        // A signature left beside an earlier file of this name would not match this one.
        await rm(path.join(repoPath, `${file}.sig`), { force: true });
      }
      const desc = formatDesc(info, { filename: file, size: facts.size, md5: facts.md5, sha256: facts.sha256, ...(signature !== undefined ? { pgpsig: signature.toString('base64') } : {}) });
      const dir = `${pkgname}-${pkgver}`;
      next.set(pkgname, { dir, desc, files: formatFiles(await listPackageMembers(item.source)) });
      const entry: RepoEntry = { ...repoEntryOf({ dir, desc, fields: parseDesc(desc) })!, fingerprint: item.entry.fingerprint, recipe: item.entry.recipe ?? item.entry.name };
      entries.set(pkgname, entry);
      records[file] = { name: pkgname, sha256: facts.sha256, fingerprint: entry.fingerprint, recipe: entry.recipe! };
      published.push(entry);
    }
    for (const name of request.remove) {
      const entry = entries.get(name);
      if (entry === undefined) continue;
      entries.delete(name);
      next.delete(name);
      removed.push(entry);
    }
    if (request.sign !== undefined) await signUnsigned(request, request.sign, next, entries, { placed, signed });
    await fsyncDir(repoPath);

    // The sidecar first: the records of both the old and the new files.
    await writeFileAtomic(sidecarFile, sidecarText(records));

    // Both databases written whole before either replaces the old one: a full disk stops the publish before the swap.
    const filesTmp = await prepareDatabase(repoPath, names.files, next, true);
    const dbTmp = await prepareDatabase(repoPath, names.db, next, false);
    const filesSigTmp = request.sign !== undefined ? await prepareSignature(repoPath, names.files, filesTmp, request.sign) : undefined;
    const dbSigTmp = request.sign !== undefined ? await prepareSignature(repoPath, names.db, dbTmp, request.sign) : undefined;
    await swapDatabase(repoPath, filesTmp, names.files, filesSigTmp);
    await swapDatabase(repoPath, dbTmp, names.db, dbSigTmp);
  } catch (error) {
    // The old databases are still in place: the repo is left as this publish found it (the
    // sidecar's extra records name files that are gone, which readers and the next publish ignore).
    await removeUnpublished(repoPath, placed);
    throw error;
  }
  await pointLink(repoPath, names.filesLink, names.files);
  await pointLink(repoPath, names.dbLink, names.db);
  for (const [link, target] of [
    [names.filesLink, names.files],
    [names.dbLink, names.db],
  ] as const) {
    if (request.sign !== undefined) await pointLink(repoPath, `${link}.sig`, `${target}.sig`);
    else await rm(path.join(repoPath, `${link}.sig`), { force: true });
  }
  await fsyncDir(repoPath);

  // The new database is in place: delete the files it no longer names, then forget their records.
  // In that order: a publish killed while deleting leaves the records of the files it had not
  // deleted yet, and the next publish deletes them (forgotten first, they would stay for good).
  const named = new Set([...entries.values()].map((e) => e.file));
  // The files the old database named, and those a publish killed before its end recorded (its new files
  // when it died before the database swap, the superseded ones when it died after).
  const candidates = new Set([...[...current.entries.values()].map((e) => e.file), ...Object.keys(current.sidecar.packages)]);
  const superseded = [...candidates].filter((file) => !named.has(file)).flatMap((file) => [file, `${file}.sig`]);
  const { deletedFiles, leftFiles } = await deleteSuperseded(repoPath, superseded);
  // A record is kept while its file is: one that could not be deleted is tried again by the next publish.
  for (const file of Object.keys(records)) if (!named.has(file) && !existsSync(path.join(repoPath, file))) delete records[file];
  await writeFileAtomic(sidecarFile, sidecarText(records));
  return { published, removed, deletedFiles, leftFiles, ...(request.sign !== undefined ? { signed } : {}) };
}

/**
 * The signature of the package file `file`, made from its bytes in `source`: with `reuse`, the
 * `<file>.sig` already beside it when there is one; else a new one, placed as a package file is
 * (temporary name, fsync, rename) and recorded in `placed` (taken out again if the publish fails)
 * and `signed`.
 */
async function signatureOf(repoPath: string, file: string, source: string, sign: SigningConfig, options: { readonly reuse: boolean; readonly placed: string[]; readonly signed: string[] }): Promise<Buffer> {
  if (options.reuse) {
    const existing = await readFile(path.join(repoPath, `${file}.sig`)).catch(() => undefined);
    if (existing !== undefined) return existing;
  }
  const bytes = await detachSign(source, sign);
  await placeFile(repoPath, `${file}.sig`, (tmp) => writeFile(tmp, bytes));
  options.placed.push(`${file}.sig`);
  options.signed.push(file);
  return bytes;
}

/**
 * Signs the packages the new database names without `%PGPSIG%` (published before the repo had
 * `sign:`, or adopted from an unsigned repository) whose file is in the repository: the entry gets
 * the `.sig` beside the file, or a new one placed there.
 */
async function signUnsigned(
  request: PacmanPublishRequest,
  sign: SigningConfig,
  next: Map<string, DbPackage>,
  entries: ReadonlyMap<string, RepoEntry>,
  record: { readonly placed: string[]; readonly signed: string[] },
): Promise<void> {
  for (const [name, pkg] of next) {
    if (hasPgpsig(pkg.desc)) continue;
    const file = entries.get(name)?.file;
    if (file === undefined) continue;
    const abs = path.join(request.repoPath, file);
    if (!existsSync(abs)) continue;
    const signature = await signatureOf(request.repoPath, file, abs, sign, { reuse: true, ...record });
    next.set(name, { ...pkg, desc: withPgpsig(pkg.desc, signature.toString('base64')) });
  }
}

/** Signs a database written under the temporary name `tmp`; returns the temporary name of its signature, for {@link swapDatabase}. */
async function prepareSignature(repoPath: string, file: string, tmp: string, sign: SigningConfig): Promise<string> {
  const sigTmp = path.join(repoPath, `.${file}.sig.${process.pid}.tmp`);
  try {
    await writeFile(sigTmp, await detachSign(tmp, sign));
    await fsyncFile(sigTmp);
  } catch (error) {
    await rm(sigTmp, { force: true });
    throw error;
  }
  return sigTmp;
}

/**
 * Renames a database written under `tmp` over `file`, with its signature as repo-add does: the old
 * signature is removed first, so that a reader between the two renames finds the new database
 * unsigned (which `SigLevel = DatabaseOptional` accepts), never with a signature of the old one.
 */
async function swapDatabase(repoPath: string, tmp: string, file: string, sigTmp: string | undefined): Promise<void> {
  await rm(path.join(repoPath, `${file}.sig`), { force: true });
  await rename(tmp, path.join(repoPath, file));
  if (sigTmp !== undefined) await rename(sigTmp, path.join(repoPath, `${file}.sig`));
}

function sidecarText(records: Record<string, PacmanSidecarRecord>): string {
  const sorted = Object.fromEntries(Object.entries(records).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const sidecar: PacmanSidecar = { formatVersion: PACMAN_SIDECAR_FORMAT_VERSION, packages: sorted };
  return `${JSON.stringify(sidecar, null, 1)}\n`;
}

/** The `files` texts of a files database, by entry directory (empty when there is none: it is made anew from the packages). */
function readFilesDatabase(file: string): Map<string, string> {
  const result = new Map<string, string>();
  let archive: Buffer;
  try {
    archive = readArchive(file);
  } catch {
    return result;
  }
  for (const member of tarFiles(archive)) {
    if (member.path.endsWith('/files')) result.set(member.path.slice(0, -'/files'.length).replace(/^\.\//, ''), Buffer.from(member.body).toString('utf8'));
  }
  return result;
}

/**
 * Writes `<file>` (a gzip tar of one directory per package, holding `desc`, and
 * `files` when `withFiles`) whole under a temporary name and fsyncs it; returns
 * that name, for the caller to rename over `<file>`. Its staging directory is
 * removed, also when writing fails.
 */
async function prepareDatabase(repoPath: string, file: string, packages: ReadonlyMap<string, DbPackage>, withFiles: boolean): Promise<string> {
  const staging = path.join(repoPath, `.${file}.staging.${process.pid}.tmp`);
  const tmp = path.join(repoPath, `.${file}.${process.pid}.tmp`);
  await rm(staging, { recursive: true, force: true });
  try {
    await mkdir(staging);
    const members: string[] = [];
    for (const pkg of [...packages.values()].sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0))) {
      await mkdir(path.join(staging, pkg.dir));
      await writeFile(path.join(staging, pkg.dir, 'desc'), pkg.desc);
      members.push(pkg.dir);
      if (withFiles && pkg.files !== undefined) await writeFile(path.join(staging, pkg.dir, 'files'), pkg.files);
    }
    await rm(tmp, { force: true });
    if (members.length > 0) await createTar({ gzip: true, file: tmp, cwd: staging, portable: true }, members);
    else await writeFile(tmp, emptyTarGz());
    await fsyncFile(tmp);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return tmp;
}

/** A gzip of an empty tar archive (two zero blocks), as repo-add writes when no package remains. */
function emptyTarGz(): Buffer {
  return gzipSync(Buffer.alloc(1024));
}

/** Makes `<link>` a symbolic link to `target` (replaced atomically when it points elsewhere or is a file). */
async function pointLink(repoPath: string, link: string, target: string): Promise<void> {
  const linkPath = path.join(repoPath, link);
  try {
    if ((await readlink(linkPath)) === target) return;
  } catch {
    // missing, or a regular file (repo-add falls back to copies on file systems without links)
  }
  const tmp = path.join(repoPath, `.${link}.${process.pid}.tmp`);
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  await rename(tmp, linkPath);
}

