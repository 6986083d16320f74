/**
 * What a pacman repository database says of one package file, made exactly as
 * `repo-add` makes it (pacman 6.0's `db_write_entry`): the `.PKGINFO` read with
 * `bsdtar`, the `desc` fields in repo-add's order with its whitespace rules, and
 * the `files` list (every archive member but the dot-files, byte-sorted).
 *
 * `bsdtar` (libarchive-tools, which repo-add needs too) reads every package
 * compression — gzip, xz and zstd alike; Node 20's zlib has no zstd.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { promisify } from 'node:util';
import type { SigningConfig } from '../config/types.js';

const run = promisify(execFile);

/** The fields of a `.PKGINFO`: scalars (last one wins, as in repo-add) and lists. */
export interface PkgInfo {
  readonly scalars: ReadonlyMap<string, string>;
  readonly lists: ReadonlyMap<string, readonly string[]>;
}

/** `.PKGINFO` keys that repo-add collects into lists. */
const LIST_KEYS = ['group', 'license', 'replaces', 'depend', 'conflict', 'provides', 'optdepend', 'makedepend', 'checkdepend'];

/**
 * Parses `.PKGINFO` text as repo-add's shell loop does: `read -r line` trims the
 * line, `#` lines are skipped, `IFS=' =' read -r var val` splits at the first
 * run of spaces with at most one `=`, and runs of white space in the value
 * become one space.
 */
export function parsePkgInfo(text: string): PkgInfo {
  const scalars = new Map<string, string>();
  const lists = new Map<string, string[]>(LIST_KEYS.map((k) => [k, []]));
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (line.startsWith('#') || line === '') continue;
    const match = /^([^ =]*)(?: *= *| +)?(.*)$/.exec(line);
    if (match === null) continue;
    const key = match[1]!;
    const value = match[2]!.replace(/ +$/, '').replace(/\s+/g, ' ');
    scalars.set(key, value);
    lists.get(key)?.push(value);
  }
  return { scalars, lists };
}

/** The facts about the package file itself that `desc` records. */
export interface PackageFileFacts {
  /** File name in the repository (`%FILENAME%`). */
  readonly filename: string;
  /** Bytes (`%CSIZE%`). */
  readonly size: number;
  readonly md5: string;
  readonly sha256: string;
  /** The file's detached signature, base64 (`%PGPSIG%`): repo-add (pacman 6.0) records the `<file>.sig` beside a package. */
  readonly pgpsig?: string;
}

/** The `desc` entry repo-add writes for a package (same fields, same order, same blank lines). */
export function formatDesc(info: PkgInfo, file: PackageFileFacts): string {
  const s = (key: string): string => info.scalars.get(key) ?? '';
  const l = (key: string): readonly string[] => info.lists.get(key) ?? [];
  let out = '';
  // repo-add's format_entry: nothing when the first value is empty.
  const entry = (field: string, values: readonly string[]): void => {
    if (values.length === 0 || values[0] === '') return;
    out += `%${field}%\n${values.join('\n')}\n\n`;
  };
  entry('FILENAME', [file.filename]);
  entry('NAME', [s('pkgname')]);
  entry('BASE', [s('pkgbase')]);
  entry('VERSION', [s('pkgver')]);
  entry('DESC', [s('pkgdesc')]);
  entry('GROUPS', l('group'));
  entry('CSIZE', [String(file.size)]);
  entry('ISIZE', [s('size')]);
  entry('MD5SUM', [file.md5]);
  entry('SHA256SUM', [file.sha256]);
  entry('PGPSIG', [file.pgpsig ?? '']);
  entry('URL', [s('url')]);
  entry('LICENSE', l('license'));
  entry('ARCH', [s('arch')]);
  entry('BUILDDATE', [s('builddate')]);
  entry('PACKAGER', [s('packager')]);
  entry('REPLACES', l('replaces'));
  entry('CONFLICTS', l('conflict'));
  entry('PROVIDES', l('provides'));
  entry('DEPENDS', l('depend'));
  entry('OPTDEPENDS', l('optdepend'));
  entry('MAKEDEPENDS', l('makedepend'));
  entry('CHECKDEPENDS', l('checkdepend'));
  return out;
}

/** The `desc` fields repo-add writes after `%PGPSIG%`, in its order. */
const AFTER_PGPSIG = ['URL', 'LICENSE', 'ARCH', 'BUILDDATE', 'PACKAGER', 'REPLACES', 'CONFLICTS', 'PROVIDES', 'DEPENDS', 'OPTDEPENDS', 'MAKEDEPENDS', 'CHECKDEPENDS'];
/** The first of them as a field header: a `%NAME%` line at the start or after a blank line (a value line that reads `%URL%` is no header). */
const FIRST_AFTER_PGPSIG = new RegExp(`(?:^|\n\n)(?=%(?:${AFTER_PGPSIG.join('|')})%\n)`);
const PGPSIG_HEADER = /(?:^|\n\n)%PGPSIG%\n/;

/** Whether a `desc` entry has a `%PGPSIG%` field. */
export function hasPgpsig(desc: string): boolean {
  return PGPSIG_HEADER.test(desc);
}

/** A `desc` entry (as repo-add or {@link formatDesc} wrote it, without a signature) with `%PGPSIG%` where repo-add puts it. */
export function withPgpsig(desc: string, pgpsig: string): string {
  const block = `%PGPSIG%\n${pgpsig}\n\n`;
  const next = FIRST_AFTER_PGPSIG.exec(desc);
  if (next !== null) {
    const at = next.index + next[0].length;
    return `${desc.slice(0, at)}${block}${desc.slice(at)}`;
  }
  return `${desc}${desc.endsWith('\n\n') || desc === '' ? '' : desc.endsWith('\n') ? '\n' : '\n\n'}${block}`;
}

/** gpg could not sign a file: `reason` is gpg's, on one line. */
export class SigningError extends Error {
  constructor(
    file: string,
    sign: SigningConfig,
    readonly reason: string,
  ) {
    super(`cannot sign ${file.split('/').pop()} with key ${sign.key}${sign.gnupgHome !== undefined ? ` (GnuPG home ${sign.gnupgHome})` : ''}: ${reason}; the key must be a secret key there, usable without a passphrase prompt (no passphrase, or one gpg-agent has cached)`);
  }
}

/** Seconds gpg may take to sign one file (it waits for nothing in batch mode: no pinentry). */
const SIGN_TIMEOUT_SECONDS = 120;

/**
 * A detached binary signature of `file` by the repo's key, as makepkg's `--sign` and repo-add's
 * `--sign` make them (`gpg --detach-sign --no-armor`). gpg runs in batch mode without a pinentry:
 * a key whose passphrase the agent does not have fails at once, with gpg's reason.
 */
export async function detachSign(file: string, sign: SigningConfig): Promise<Buffer> {
  const args = [
    ...(sign.gnupgHome !== undefined ? ['--homedir', sign.gnupgHome] : []),
    '--batch',
    '--no-tty',
    '--pinentry-mode',
    'error',
    '--no-armor',
    '--detach-sign',
    '--local-user',
    sign.key,
    '--output',
    '-',
    file,
  ];
  try {
    const { stdout } = await run('gpg', args, { encoding: 'buffer', maxBuffer: 1 << 20, timeout: SIGN_TIMEOUT_SECONDS * 1000, killSignal: 'SIGKILL' });
    if (stdout.length === 0) throw Object.assign(new Error('gpg wrote no signature'), { stderr: Buffer.alloc(0) });
    return stdout;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: Buffer; killed?: boolean };
    if (e.code === 'ENOENT') throw new Error('gpg is not installed: signing a pacman repository needs it (Debian: apt-get install gpg gpg-agent)');
    const why = e.killed === true ? `gpg did not finish within ${SIGN_TIMEOUT_SECONDS}s` : gpgReason(e.stderr?.toString('utf8') ?? '') || e.message;
    throw new SigningError(file, sign, why);
  }
}

/** gpg's reason on one line: its lines that say what failed (not its trust database chatter), else all of them, each once. */
function gpgReason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const telling = lines.filter((l) => /skipped|failed|error|invalid|expired|revoked|no secret key|not found|unusable/i.test(l));
  return [...new Set(telling.length > 0 ? telling : lines)].join('; ');
}

/** The `files` entry: `%FILES%` then every member that does not start with a dot, byte-sorted and unique. */
export function formatFiles(members: readonly string[]): string {
  const unique = [...new Set(members.filter((m) => m !== '' && !m.startsWith('.')))];
  unique.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `%FILES%\n${unique.map((m) => `${m}\n`).join('')}`;
}

/** The `.PKGINFO` text of a package file; an error when the file is not a pacman package. */
export async function readPkgInfoText(file: string): Promise<string> {
  try {
    const { stdout } = await run('bsdtar', ['-xOqf', file, '.PKGINFO'], { maxBuffer: 16 << 20 });
    if (stdout.trim() === '') throw new Error('empty .PKGINFO');
    return stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('bsdtar is not installed: publishing to a pacman repository needs it (Debian: apt-get install libarchive-tools)');
    throw new Error(`${file} is not a pacman package (no .PKGINFO): ${((error as { stderr?: string }).stderr ?? (error as Error).message).trim()}`);
  }
}

/** The member names of a package archive, as `bsdtar -t` lists them. */
export async function listPackageMembers(file: string): Promise<string[]> {
  const { stdout } = await run('bsdtar', ['-tf', file], { maxBuffer: 256 << 20 });
  return stdout.split('\n').filter((l) => l !== '');
}

/** md5, sha256 and size of a file in one read. */
export async function digestFile(file: string): Promise<{ md5: string; sha256: string; size: number }> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    md5.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { md5: md5.digest('hex'), sha256: sha256.digest('hex'), size };
}
