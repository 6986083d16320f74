/**
 * The safety check of prerequisite tarballs, run locally with node-tar's parser
 * before anything is uploaded: an entry that would land outside the root it is
 * extracted into is refused, naming the entry. Responsible for reading the
 * archives (any compression the host's `tar -x` reads too) and for the rules;
 * not for extracting (the host's tar does that) nor for digests.
 *
 * Rules (paths are taken as relative to the root; `./` prefixes are ignored):
 * - absolute entry paths and any `..` component are refused;
 * - an entry whose path goes through a symbolic link made earlier (in this
 *   tarball or an earlier one of the same root) is refused: extracting it would
 *   write where the link points;
 * - symbolic links: a relative target is resolved from the link's directory and
 *   must stay inside the root; an absolute target is read relative to the root
 *   (as inside a chroot or container: base-system tarballs are full of them,
 *   e.g. `usr/lib/libc.so -> /lib/libc.so.6`) and must not climb above it;
 * - hard links must name a path inside the archive (no absolute path, no `..`,
 *   not through a symbolic link);
 * - character and block devices are refused: an unprivileged extraction cannot
 *   make them, and a device file in a root would open the host's device (an
 *   isolated build gets a minimal `/dev` of its own instead); FIFOs are allowed;
 * - other entry types (GNU dump directories, volume labels…) are refused;
 * - the archive may unpack to at most its limit (`maxUnpackedSize`): the sizes in
 *   the entries' headers plus 512 bytes per entry are added up as they come, so a
 *   decompression bomb is refused at the entry that passes the limit, before its
 *   content is read, and an archive of millions of empty files is bounded too.
 *
 * Setuid and setgid bits are not judged here: the installer clears them after
 * extraction (prerequisiteRoots.ts).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { ReadEntry } from 'tar';
import { formatSize } from '../config/types.js';

/** How a tarball is compressed, from its first bytes. */
export type Compression = 'none' | 'gzip' | 'xz' | 'zstd' | 'bzip2';

/** File name suffix the host copy of a tarball gets (host tars detect the compression themselves). */
export const COMPRESSION_SUFFIX: Readonly<Record<Compression, string>> = { none: 'tar', gzip: 'tar.gz', xz: 'tar.xz', zstd: 'tar.zst', bzip2: 'tar.bz2' };

/** External decompressors for what node-tar does not read itself (it reads plain and gzip). */
const DECOMPRESSOR: Partial<Record<Compression, readonly string[]>> = { xz: ['xz', '-dc'], zstd: ['zstd', '-dc'], bzip2: ['bzip2', '-dc'] };

export async function detectCompression(file: string): Promise<Compression> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(6);
    const { bytesRead } = await handle.read(head, 0, 6, 0);
    const b = head.subarray(0, bytesRead);
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
    if (b.length >= 6 && b.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
    if (b.length >= 4 && b.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
    if (b.length >= 3 && b.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
    return 'none';
  } finally {
    await handle.close();
  }
}

/** Why a tarball cannot be used, with the entry at fault when there is one. */
export interface TarballRefusal {
  /** Index of the tarball in the list checked. */
  readonly index: number;
  /** The entry's path as stored in the archive; absent when the archive as a whole is unreadable. */
  readonly entry?: string;
  /** What is wrong, one sentence without a final period. */
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
}

const REBUILD_HINT = 'rebuild the tarball from inside its root, e.g. `tar -C ROOT -czf FILE .`, so that every path is relative and stays inside';

/** Bytes an entry counts for against the unpacked-size limit besides its content (its header). */
export const ENTRY_OVERHEAD_BYTES = 512;

export interface CheckTarballsOptions {
  /** Per tarball (same order as the files): the most it may unpack to, bytes. Absent: no limit. */
  readonly maxUnpackedBytes?: readonly number[];
}

/**
 * Checks the tarballs that are extracted, in this order, into one root. Returns
 * the first refusal, or null when every entry stays inside the root. Reading stops
 * at the first refused entry.
 */
export async function checkTarballs(files: readonly string[], options: CheckTarballsOptions = {}): Promise<TarballRefusal | null> {
  /** Paths (normalized, relative) that are symbolic links at this point of the extraction. */
  const symlinks = new Set<string>();
  for (let index = 0; index < files.length; index++) {
    const refusal = await checkOne(files[index]!, index, symlinks, options.maxUnpackedBytes?.[index] ?? Number.POSITIVE_INFINITY);
    if (refusal !== null) return refusal;
  }
  return null;
}

async function checkOne(file: string, index: number, symlinks: Set<string>, maxUnpackedBytes: number): Promise<TarballRefusal | null> {
  let refusal: TarballRefusal | null = null;
  let entries = 0;
  let unpacked = 0;
  /** Stops reading once an entry is refused: the rest of a bomb is never decompressed. */
  const stop = new AbortController();
  // Loaded on use: `plan` imports this module, and most plans check no tarball.
  const [{ Parser }, { execa }] = await Promise.all([import('tar'), import('execa')]);
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      entries++;
      if (refusal === null) {
        unpacked += (entry.size ?? 0) + ENTRY_OVERHEAD_BYTES;
        const why = unpacked > maxUnpackedBytes ? tooLarge(entry, maxUnpackedBytes) : judgeEntry(entry, symlinks);
        if (why !== null) {
          refusal = { index, entry: entry.path, ...why };
          stop.abort();
        }
      }
      entry.resume();
    },
  });
  const compression = await detectCompression(file);
  const decompressor = DECOMPRESSOR[compression];
  try {
    if (decompressor === undefined) {
      await pipeline(createReadStream(file), parser, { signal: stop.signal });
    } else {
      const [command, ...args] = decompressor as [string, ...string[]];
      const child = execa(command, [...args, file], { stdout: 'pipe', stderr: 'pipe', buffer: { stdout: false, stderr: true }, reject: false, cancelSignal: stop.signal });
      // Both awaited together: a refusal aborts the parse while the decompressor is still
      // being waited for, and that rejection must have its handler already.
      const [result, parsed] = await Promise.all([child, pipeline(child.stdout, parser, { signal: stop.signal }).then(() => null, (error: unknown) => (error instanceof Error ? error : new Error(String(error))))]);
      if (refusal !== null) return refusal;
      if (parsed !== null) throw parsed;
      if (result.failed) {
        const missing = (result as { code?: string }).code === 'ENOENT';
        return {
          index,
          message: missing ? `this ${compression}-compressed tarball cannot be checked: \`${command}\` is not installed here` : `\`${command}\` could not decompress it: ${String(result.stderr).trim().split('\n')[0] ?? ''}`,
          hint: missing ? `install ${command} on this machine (the hosts need it too, for tar -x), or recompress the tarball with gzip` : 'check that the file is complete and not corrupt',
        };
      }
    }
  } catch (error) {
    if (refusal !== null) return refusal;
    return { index, message: `not a readable tar archive (${(error as Error).message})`, hint: 'check that the file is a complete tar archive (plain, gzip, xz, zstd or bzip2)' };
  }
  if (refusal !== null) return refusal;
  if (entries === 0) return { index, message: 'not a tar archive, or an empty one (no entries)', hint: 'check that the path names the intended tarball' };
  return null;
}

function tooLarge(entry: ReadEntry, limit: number): { message: string; hint: string } {
  return {
    message: `the archive unpacks to more than ${formatSize(limit)} (maxUnpackedSize): entry "${entry.path}" (${entry.size ?? 0} bytes) passes the limit`,
    hint: 'if the tarball is meant to be that large, raise `maxUnpackedSize` of this prerequisite; otherwise it is not the intended tarball (a decompression bomb?)',
  };
}

/** The problem with one entry, or null. Updates `symlinks` as the extraction would. */
function judgeEntry(entry: ReadEntry, symlinks: Set<string>): { message: string; hint: string } | null {
  const raw = entry.path;
  if (raw.startsWith('/')) return { message: `entry "${raw}" has an absolute path: it would be written outside the root`, hint: REBUILD_HINT };
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { message: `entry "${raw}" has a ".." component: it could be written outside the root`, hint: REBUILD_HINT };
  const through = symlinkPrefix(parts, symlinks);
  if (through !== undefined) {
    return { message: `entry "${raw}" lies under "${through}", which the archive made a symbolic link: extracting it would write where the link points`, hint: 'make that path a real directory in the tarball, or leave out the entries below it' };
  }
  const normalized = parts.join('/');
  switch (entry.type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
    case 'Directory':
    case 'FIFO':
      symlinks.delete(normalized);
      return null;
    case 'SymbolicLink': {
      const target = entry.linkpath ?? '';
      if (escapes(target.startsWith('/') ? [] : parts.slice(0, -1), target)) {
        return { message: `symbolic link "${raw}" points to "${target}", outside the root`, hint: 'make the link point inside the root (absolute targets are read relative to the root), or leave it out' };
      }
      symlinks.add(normalized);
      return null;
    }
    case 'Link': {
      const target = entry.linkpath ?? '';
      const targetParts = target.split('/').filter((p) => p !== '' && p !== '.');
      if (target.startsWith('/') || targetParts.includes('..') || targetParts.length === 0 || symlinkPrefix(targetParts, symlinks) !== undefined) {
        return { message: `hard link "${raw}" points to "${target}", outside the archive's root`, hint: 'hard links must name another entry of the archive by its relative path' };
      }
      symlinks.delete(normalized);
      return null;
    }
    case 'CharacterDevice':
    case 'BlockDevice':
      return {
        message: `entry "${raw}" is a device file: devices are not extracted into build roots`,
        hint: "leave device nodes out of the tarball (e.g. `tar --exclude='./dev/*' -C ROOT -czf FILE .`): builds with isolation get a minimal /dev of their own",
      };
    default:
      return { message: `entry "${raw}" has type ${entry.type}, which is not extracted into build roots`, hint: 'keep to files, directories, links and FIFOs' };
  }
}

/** The first proper prefix of `parts` that is a symbolic link, if any. */
function symlinkPrefix(parts: readonly string[], symlinks: ReadonlySet<string>): string | undefined {
  if (symlinks.size === 0) return undefined;
  let prefix = '';
  for (let i = 0; i < parts.length - 1; i++) {
    prefix = i === 0 ? parts[0]! : `${prefix}/${parts[i]!}`;
    if (symlinks.has(prefix)) return prefix;
  }
  return undefined;
}

/** True when `target`, resolved lexically from directory `from` (parts, relative to the root), climbs above the root. */
function escapes(from: readonly string[], target: string): boolean {
  const stack = [...from];
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return true;
      stack.pop();
    } else stack.push(part);
  }
  return false;
}
