/**
 * Finished builds, kept by fingerprint until they are published:
 * `<state>/<branch>/artifacts/<fingerprint>/` holds the package files and
 * `result.json`. The directory appears by one atomic rename, after its files are
 * fsynced, so a crash leaves either a complete entry or none; the next run
 * publishes a complete entry instead of building it again.
 */
import { readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isPlainFileName } from '../observe/plainRepo.js';
import { ensureDir, fsyncDir, fsyncFile, hashFile, linkOrCopy } from './fsUtil.js';
import { isRecord } from '../model/json.js';

export const CACHE_RESULT_FILE = 'result.json';

/** One package file of a finished build. */
export interface CachedPackage {
  readonly name: string;
  /** File name inside the cache entry (and in the repo). */
  readonly file: string;
  readonly sha256: string;
  /** Bytes. */
  readonly size: number;
}

export interface CachedBuild {
  readonly formatVersion: 1;
  readonly branch: string;
  readonly recipe: string;
  readonly version: string;
  readonly fingerprint: string;
  readonly packages: readonly CachedPackage[];
  readonly host: string;
  /** Wall time of the build, seconds. */
  readonly seconds: number;
  readonly log: string;
  /** ISO 8601. */
  readonly builtAt: string;
}

/**
 * A `result.json` of this format, whose package files are plain names inside the entry (a
 * damaged one was a TypeError, and a name with `/` would have published a file from elsewhere).
 */
function isCachedBuild(value: unknown): value is CachedBuild {
  if (!isRecord(value)) return false;
  const b = value as Partial<Record<keyof CachedBuild, unknown>>;
  const strings = [b.branch, b.recipe, b.version, b.fingerprint, b.host, b.log, b.builtAt];
  return (
    b.formatVersion === 1 &&
    strings.every((s) => typeof s === 'string') &&
    typeof b.seconds === 'number' &&
    Array.isArray(b.packages) &&
    b.packages.every((p: unknown) => {
      if (!isRecord(p)) return false;
      const { name, file, sha256, size } = p;
      return typeof name === 'string' && typeof file === 'string' && isPlainFileName(file) && typeof sha256 === 'string' && typeof size === 'number';
    })
  );
}

export class ArtifactCache {
  /** @param root `<state>/<branch>/artifacts` */
  private rootMade = false;

  constructor(readonly root: string) {}

  entryDir(fingerprint: string): string {
    return path.join(this.root, fingerprint);
  }

  filePath(fingerprint: string, file: string): string {
    return path.join(this.root, fingerprint, file);
  }

  /** The finished build with this fingerprint, when a complete one is cached. */
  async lookup(fingerprint: string): Promise<CachedBuild | undefined> {
    let text: string;
    try {
      text = await readFile(path.join(this.entryDir(fingerprint), CACHE_RESULT_FILE), 'utf8');
    } catch {
      return undefined;
    }
    let result: unknown;
    try {
      result = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (!isCachedBuild(result) || result.fingerprint !== fingerprint) return undefined;
    // Every file there at its recorded size (a damaged entry is built again, not published).
    for (const pkg of result.packages) {
      try {
        if ((await stat(this.filePath(fingerprint, pkg.file))).size !== pkg.size) return undefined;
      } catch {
        return undefined;
      }
    }
    return result;
  }

  /**
   * Stores a finished build: links or copies `files` (name → absolute path of an
   * artifact) into a temporary directory, hashes them, then renames it into place.
   */
  async store(build: Omit<CachedBuild, 'formatVersion' | 'packages'>, files: readonly { name: string; file: string; path: string }[]): Promise<CachedBuild> {
    if (!this.rootMade) {
      await ensureDir(this.root);
      this.rootMade = true;
    }
    const tmp = path.join(this.root, `.${build.fingerprint}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
    await ensureDir(tmp);
    const packages: CachedPackage[] = [];
    for (const f of files) {
      const target = path.join(tmp, f.file);
      await linkOrCopy(f.path, target);
      // The build wrote it without fsync: make it durable before anything names it.
      await fsyncFile(target);
      const { sha256, size } = await hashFile(target);
      packages.push({ name: f.name, file: f.file, sha256, size });
    }
    const result: CachedBuild = { formatVersion: 1, ...build, packages };
    // No rename needed inside the temporary directory: the directory itself appears atomically.
    await writeFile(path.join(tmp, CACHE_RESULT_FILE), `${JSON.stringify(result, null, 2)}\n`, { flush: true });
    await fsyncDir(tmp);
    try {
      await rename(tmp, this.entryDir(build.fingerprint));
    } catch (error) {
      // An entry of the same fingerprint is there already (damaged, or from a crashed run): replace it.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      await rm(this.entryDir(build.fingerprint), { recursive: true, force: true });
      await rename(tmp, this.entryDir(build.fingerprint));
    }
    await fsyncDir(this.root);
    return result;
  }

  /** Drops entries whose fingerprint is not in `keep` (published or no longer wanted), and leftovers of crashed writes. */
  async prune(keep: ReadonlySet<string>): Promise<void> {
    let entries: string[];
    try {
      entries = await readdir(this.root);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!keep.has(entry)) await rm(path.join(this.root, entry), { recursive: true, force: true });
    }
  }
}
