/**
 * Reads a `pacman` repository as observed state: the sync database
 * `<name>.db` (the link pacman reads; `<name>.db.tar.gz` when the link is
 * missing) holds one `<pkgname>-<version>/desc` entry per package, and the
 * sidecar `<name>.buildfleet.json` holds the fingerprints of the packages
 * buildfleet published there. A database entry without a matching sidecar record
 * (written by `repo-add` or another tool) is observed without a fingerprint:
 * the planner adopts it when its version is the desired one.
 *
 * Not responsible for writing (publish/pacmanRepo.ts) nor for package files.
 */
import { execFileSync } from 'node:child_process';
import { isAscii } from 'node:buffer';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Diagnostic } from '../config/diagnostic.js';
import type { RepoConfig } from '../config/types.js';
import { sha256Hex } from '../model/canonical.js';
import { isRecord } from '../model/json.js';
import { isPlainFileName } from './plainRepo.js';
import type { RepoEntry } from './types.js';

export const PACMAN_SIDECAR_FORMAT_VERSION = 1;

/** `<name>.db.tar.gz`, `<name>.files.tar.gz`, their links and the sidecar, for a repo named `name`. */
export function pacmanRepoFiles(name: string): { db: string; dbLink: string; files: string; filesLink: string; sidecar: string } {
  return { db: `${name}.db.tar.gz`, dbLink: `${name}.db`, files: `${name}.files.tar.gz`, filesLink: `${name}.files`, sidecar: `${name}.buildfleet.json` };
}

/**
 * Whether a repo with `sign:` has a database without a signature: signing was turned on for a
 * repository that had none, or a publish was killed between a database and its signature.
 * `reconcile` then publishes into it with nothing to add, which signs the databases and every
 * unsigned package.
 */
export function signaturesMissing(repo: Pick<RepoConfig, 'name' | 'path' | 'format' | 'sign'>): boolean {
  if (repo.format !== 'pacman' || repo.sign === undefined) return false;
  const names = pacmanRepoFiles(repo.name);
  return [names.db, names.files].some((file) => existsSync(path.join(repo.path, file)) && !existsSync(path.join(repo.path, `${file}.sig`)));
}

/** What buildfleet remembers of a package file it published (keyed by file name in the sidecar). */
export interface PacmanSidecarRecord {
  readonly name: string;
  /** sha256 of the package file: the record applies only to the file the database names with this digest. */
  readonly sha256: string;
  readonly fingerprint: string;
  readonly recipe: string;
}

export interface PacmanSidecar {
  readonly formatVersion: typeof PACMAN_SIDECAR_FORMAT_VERSION;
  /** By package file name. */
  readonly packages: Readonly<Record<string, PacmanSidecarRecord>>;
}

/** One entry of a sync database: its directory name, the raw `desc` text and its parsed fields. */
export interface PacmanDbEntry {
  /** `<pkgname>-<pkgver>-<pkgrel>` */
  readonly dir: string;
  readonly desc: string;
  /** `%NAME%` → its lines. */
  readonly fields: ReadonlyMap<string, readonly string[]>;
}

/**
 * Parses a `desc` (or `files`) text: `%KEY%` lines, each followed by its values up to an empty line.
 * `keep`: the keys to keep (default: all); the values of the others are skipped, not copied. Lines
 * are found by searching the text, not by splitting it: a plan reads thousands of entries once,
 * mostly before V8 optimizes this function.
 */
export function parseDesc(text: string, keep?: ReadonlySet<string>): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  // The current key's values.
  let values: string[] | undefined;
  const length = text.length;
  // Every line, the empty one after a final newline too.
  for (let start = 0; start <= length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = length;
    if (end === start) values = undefined;
    else if (values === undefined) {
      if (end - start > 2 && text.charCodeAt(start) === 37 /* % */ && text.charCodeAt(end - 1) === 37) {
        const key = text.slice(start + 1, end - 1);
        if (keep === undefined || keep.has(key)) {
          values = [];
          fields.set(key, values);
        } else {
          // Its values are skipped with one search, to the empty line that ends them (or the text's end).
          const blank = text.indexOf('\n\n', end);
          start = blank < 0 ? length : blank + 1;
          continue;
        }
      }
    } else values.push(text.slice(start, end));
    start = end + 1;
  }
  return fields;
}

/**
 * The regular files of an uncompressed tar archive, in archive order: ustar
 * names (with prefix), pax `path` records and GNU long names. A hand-written
 * reader: node-tar's streaming parser takes about ten times as long over a
 * 3,000-package database, and observing a repository is on every plan's path.
 */
export function* tarFiles(archive: Uint8Array): Generator<{ path: string; body: Uint8Array }> {
  const buf = Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength);
  // Names only, read from the bytes: the caller decodes the bodies it wants, so a string of the
  // whole archive (a files database can be tens of megabytes) would be made for a few names.
  for (const file of tarMembers(buf, archiveText(buf, FROM_BYTES))) yield { path: file.path, body: buf.subarray(file.start, file.end) };
}

/**
 * An archive's bytes as text: UTF-8 text between two offsets, and the NUL-terminated string of a
 * header field. Most archives are read through one Latin-1 string of the whole (one character per
 * byte, so offsets stay byte offsets), which native string functions search and slice with no call
 * into Node's Buffer methods per field (a database of 1,222 packages: tar headers read in 2.5 ms
 * instead of 7.4); an ASCII archive, the usual database, is then its own UTF-8 text. One too large
 * for a string is read from its bytes.
 */
export interface ArchiveText {
  utf8(start: number, end: number): string;
  cString(start: number, length: number): string;
}

/** Archives up to this size are read through one string (V8's longest holds about 2^29 characters). */
const LATIN1_TEXT_LIMIT = 2 ** 28;
/** The limit under which no archive is read through one string. */
const FROM_BYTES = -1;

export function archiveText(buf: Buffer, latin1Limit = LATIN1_TEXT_LIMIT): ArchiveText {
  const fromBytes = (start: number, end: number): string => buf.toString('utf8', start, end);
  if (buf.length > latin1Limit) {
    return {
      utf8: fromBytes,
      cString: (start, length) => {
        const nul = buf.subarray(start, start + length).indexOf(0);
        return fromBytes(start, nul < 0 ? start + length : start + nul);
      },
    };
  }
  const latin1 = buf.toString('latin1');
  const utf8 = isAscii(buf) ? (start: number, end: number): string => latin1.slice(start, end) : fromBytes;
  return {
    utf8,
    cString: (start, length) => {
      const nul = latin1.slice(start, start + length).indexOf('\0');
      return utf8(start, nul < 0 ? start + length : start + nul);
    },
  };
}

/** Where each regular file of a tar archive is: its path and its body's byte range. */
function tarMembers(buf: Buffer, text: ArchiveText): { path: string; start: number; end: number }[] {
  const members: { path: string; start: number; end: number }[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= buf.length) {
    const header = offset;
    if (buf[header] === 0) break; // end-of-archive block
    const size = parseOctal(buf, header + 124, 12);
    const type = buf[header + 156] ?? 48;
    const start = header + 512;
    const end = start + size;
    if (end > buf.length) throw new Error('truncated tar archive');
    offset = start + Math.ceil(size / 512) * 512;
    if (type === 120 /* x */) {
      longName = paxPath(buf.subarray(start, end)) ?? longName;
      continue;
    }
    if (type === 76 /* L */) {
      longName = text.cString(start, size);
      continue;
    }
    if (type === 103 /* g */) continue;
    let name = longName;
    longName = undefined;
    if (name === undefined) {
      name = text.cString(header, 100);
      // POSIX ustar (not GNU tar's "ustar  ") splits long names into prefix/name.
      if (buf[header + 257] === 117 && buf[header + 262] === 0 && buf[header + 258] === 115 && buf[header + 259] === 116 && buf[header + 260] === 97 && buf[header + 261] === 114) {
        const prefix = text.cString(header + 345, 155);
        if (prefix !== '') name = `${prefix}/${name}`;
      }
    }
    if (type === 48 /* 0 */ || type === 0 || type === 55 /* 7 */) members.push({ path: name, start, end });
  }
  return members;
}

function parseOctal(buf: Buffer, start: number, length: number): number {
  let value = 0;
  for (let i = start; i < start + length; i++) {
    const c = buf[i]!;
    if (c === 0 || c === 32) {
      if (value > 0) break;
      continue;
    }
    if (c < 48 || c > 55) throw new Error('malformed tar header');
    value = value * 8 + (c - 48);
  }
  return value;
}

/** The `path` record of a pax extended header (`<len> path=<value>\n` records). */
function paxPath(body: Buffer): string | undefined {
  let offset = 0;
  let found: string | undefined;
  while (offset < body.length) {
    const space = body.indexOf(32, offset);
    if (space === -1) break;
    const length = Number(body.toString('latin1', offset, space));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = body.toString('utf8', space + 1, offset + length - 1);
    if (record.startsWith('path=')) found = record.slice(5);
    offset += length;
  }
  return found;
}

/**
 * The uncompressed tar of a database file. gzip (what buildfleet and `repo-add`
 * write by default) and plain tar are read in-process; zstd and xz (Node 20's
 * zlib has no zstd) through `bsdtar`, which rewrites any archive it reads as a tar stream.
 */
export function readArchive(file: string): Buffer {
  const data = readFileSync(file);
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) return gunzipSync(data, { chunkSize: gunzipChunkSize(data) });
  if (data.length === 0 || (data.length >= 262 && data.toString('latin1', 257, 262) === 'ustar')) return data;
  return execFileSync('bsdtar', ['-cf', '-', '--format', 'pax', `@${file}`], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * An output buffer size for inflating `gzip` in one piece: its trailer's ISIZE (the uncompressed
 * length modulo 2^32) plus one byte. With zlib's default 16 KiB chunks, inflating a 2 MB database
 * allocates a hundred chunks and copies them into one buffer, about half the time of the whole
 * inflation. ISIZE is only a hint (a multi-member file or one over 4 GiB has it wrong: zlib then
 * adds chunks as usual), so it is kept between 64 KiB and 64 MiB.
 */
function gunzipChunkSize(data: Buffer): number {
  const isize = data.length >= 18 ? data.readUInt32LE(data.length - 4) : 0;
  return Math.min(Math.max(isize + 1, 64 * 1024), 64 * 1024 * 1024);
}

/** Every `<dir>/desc` entry of a sync database archive (already uncompressed), in archive order; `keep`: the fields to parse (default: all), as {@link parseDesc}. */
export function parsePacmanDatabase(archive: Uint8Array, keep?: ReadonlySet<string>): PacmanDbEntry[] {
  const buf = Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength);
  const entries: PacmanDbEntry[] = [];
  const text = archiveText(buf);
  for (const file of tarMembers(buf, text)) {
    if (!file.path.endsWith('/desc')) continue;
    const named = file.path.slice(0, -'/desc'.length);
    const dir = named.startsWith('./') ? named.slice(2) : named;
    if (dir.includes('/')) continue;
    const desc = text.utf8(file.start, file.end);
    entries.push({ dir, desc, fields: parseDesc(desc, keep) });
  }
  return entries;
}

/** The `desc` fields {@link repoEntryOf} reads. */
export const REPO_ENTRY_FIELDS: ReadonlySet<string> = new Set(['NAME', 'VERSION', 'FILENAME', 'DESC', 'BASE', 'SHA256SUM', 'CSIZE', 'DEPENDS', 'PROVIDES']);

/**
 * The repo entry of a database entry; undefined when it lacks a name, version or file name. Its
 * fingerprint (and recipe) are those of the sidecar's record of its file, given `records`, when
 * the record is of the very package file the database names (same name and sha256); else it has
 * none (a package made by other tools, adopted).
 */
export function repoEntryOf(entry: PacmanDbEntry, records?: PacmanSidecar['packages']): RepoEntry | undefined {
  const { fields } = entry;
  const name = fields.get('NAME')?.[0];
  const version = fields.get('VERSION')?.[0];
  const file = fields.get('FILENAME')?.[0];
  if (name === undefined || version === undefined || file === undefined) return undefined;
  const sha256 = fields.get('SHA256SUM')?.[0] ?? '';
  const description = fields.get('DESC')?.[0];
  const record = records !== undefined && Object.hasOwn(records, file) ? records[file] : undefined;
  const recorded = record !== undefined && record.name === name && record.sha256 === sha256 ? record : undefined;
  const recipe = recorded !== undefined ? recorded.recipe : fields.get('BASE')?.[0];
  const repoEntry: { -readonly [K in keyof RepoEntry]: RepoEntry[K] } = {
    name,
    version,
    file,
    sha256,
    size: Number(fields.get('CSIZE')?.[0] ?? 0),
    depends: fields.get('DEPENDS') ?? [],
    provides: fields.get('PROVIDES') ?? [],
    fingerprint: recorded !== undefined ? recorded.fingerprint : '',
  };
  if (description !== undefined) repoEntry.description = description;
  if (recipe !== undefined) repoEntry.recipe = recipe;
  return repoEntry;
}

export interface PacmanRepoRead {
  readonly entries: Map<string, RepoEntry>;
  /** The raw database entries by package name (for publishing, which keeps the others' entries as they are): directory and `desc` text. */
  readonly dbEntries: Map<string, Pick<PacmanDbEntry, 'dir' | 'desc'>>;
  readonly sidecar: PacmanSidecar;
  /** sha256 over the database and the sidecar ('' for an empty repo). */
  readonly digest: string;
  readonly diagnostics: Diagnostic[];
}

/**
 * Reads the sync database of a sync-database file alone, as observed state (no
 * sidecar): the entry point of benchmarks over real databases.
 */
export function readPacmanDatabaseFile(file: string): Map<string, RepoEntry> {
  const entries = new Map<string, RepoEntry>();
  for (const dbEntry of parsePacmanDatabase(readArchive(file), REPO_ENTRY_FIELDS)) {
    const entry = repoEntryOf(dbEntry);
    if (entry !== undefined) entries.set(entry.name, entry);
  }
  return entries;
}

/**
 * Reads a pacman repository. A missing directory or database is an empty
 * repository; an unreadable or malformed one is an error (planning over it
 * could prune or rebuild everything).
 */
export function readPacmanRepo(repoPath: string, repoName: string, displayPath: string): PacmanRepoRead {
  const names = pacmanRepoFiles(repoName);
  const entries = new Map<string, RepoEntry>();
  const dbEntries = new Map<string, Pick<PacmanDbEntry, 'dir' | 'desc'>>();
  const emptySidecar: PacmanSidecar = { formatVersion: PACMAN_SIDECAR_FORMAT_VERSION, packages: {} };
  let dbFile = path.join(repoPath, names.dbLink);
  let display = `${displayPath}/${names.dbLink}`;
  let archive: Buffer;
  const fail = (file: string, message: string, digest = '', hint = 'restore the database from a backup (repo-add keeps <name>.db.tar.gz.old), or rebuild it with repo-add from the package files'): PacmanRepoRead => ({
    entries,
    dbEntries,
    sidecar: emptySidecar,
    digest,
    diagnostics: [{ severity: 'error', file, message, hint }],
  });
  try {
    archive = readArchive(dbFile);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      dbFile = path.join(repoPath, names.db);
      display = `${displayPath}/${names.db}`;
      try {
        archive = readArchive(dbFile);
      } catch (second) {
        if ((second as NodeJS.ErrnoException).code === 'ENOENT') return { entries, dbEntries, sidecar: emptySidecar, digest: '', diagnostics: [] };
        return fail(display, `cannot read the pacman database (${describe(second)})`);
      }
    } else return fail(display, `cannot read the pacman database (${describe(error)})`);
  }
  const dbDigest = sha256Hex(archive);

  let parsed: PacmanDbEntry[];
  try {
    parsed = parsePacmanDatabase(archive, REPO_ENTRY_FIELDS);
  } catch (error) {
    return fail(display, `the pacman database is not a valid tar archive (${(error as Error).message})`, dbDigest);
  }
  // The sidecar is read before the entries are made, so that each is made with its record; what
  // is wrong with it is said after what is wrong with the database.
  const sidecarFile = path.join(repoPath, names.sidecar);
  let sidecarText = '';
  let sidecar = emptySidecar;
  let sidecarFailure: (() => PacmanRepoRead) | undefined;
  try {
    sidecarText = readFileSync(sidecarFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') sidecarFailure = () => fail(`${displayPath}/${names.sidecar}`, `cannot read buildfleet's record of the repository (${describe(error)})`, dbDigest);
  }
  if (sidecarText !== '') {
    let data: unknown;
    try {
      data = JSON.parse(sidecarText);
    } catch {
      data = undefined;
    }
    if (isSidecar(data)) sidecar = data;
    else {
      sidecarFailure = () =>
        fail(
          `${displayPath}/${names.sidecar}`,
          `not a formatVersion ${PACMAN_SIDECAR_FORMAT_VERSION} record of buildfleet's packages`,
          dbDigest,
          'delete the file: the packages of the database are then adopted as they are (their fingerprints are forgotten)',
        );
    }
  }
  for (const dbEntry of parsed) {
    const entry = repoEntryOf(dbEntry, sidecar.packages);
    if (entry === undefined) return fail(display, `entry ${dbEntry.dir}/desc lacks %NAME%, %VERSION% or %FILENAME%`, dbDigest);
    if (!isPlainFileName(entry.file)) return fail(display, `entry ${dbEntry.dir}/desc names the file ${JSON.stringify(entry.file)}, which is not a file of the repository directory`, dbDigest);
    entries.set(entry.name, entry);
    // Not its parsed fields: a plan keeps every entry to its end, and needs only the repo entry.
    dbEntries.set(entry.name, { dir: dbEntry.dir, desc: dbEntry.desc });
  }
  if (sidecarFailure !== undefined) return sidecarFailure();
  return { entries, dbEntries, sidecar, digest: sha256Hex(`${dbDigest}\n${sha256Hex(sidecarText)}`), diagnostics: [] };
}

/** The sidecar's shape: publishing trusts its records (and deletes the files they name), so every one is checked. */
function isSidecar(data: unknown): data is PacmanSidecar {
  if (!isRecord(data) || data.formatVersion !== PACMAN_SIDECAR_FORMAT_VERSION || !isRecord(data.packages)) return false;
  const { packages } = data;
  for (const file in packages) {
    const r = packages[file];
    if (!(isPlainFileName(file) && isRecord(r) && typeof r['name'] === 'string' && typeof r['sha256'] === 'string' && typeof r['fingerprint'] === 'string' && typeof r['recipe'] === 'string')) return false;
  }
  return true;
}

function describe(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}
