/**
 * Local checks of each branch's prerequisite tarballs before anything is built:
 * the file's sha256 must be the one the branch names, and (for reconcile) no
 * entry may escape the root (see tarballSafety.ts). Digests are cached by
 * path, size and mtime in `<state>/prerequisites/digests.json`, so a large
 * tarball is hashed once, not on every run; `plan` reads the cache and writes
 * nothing. Not responsible for installing roots on hosts (prerequisiteRoots.ts).
 */
import { readFileSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Diagnostic } from '../config/diagnostic.js';
import { displayPath } from '../config/paths.js';
import type { BranchConfig, PrerequisiteConfig } from '../config/types.js';
import { hashFile, writeFileAtomic } from './fsUtil.js';
import { checkTarballs, COMPRESSION_SUFFIX, detectCompression, type Compression } from './tarballSafety.js';
import { rootKey } from '../plan/prerequisitePlan.js';
import { isRecord } from '../model/json.js';

export const PREREQUISITES_DIR = 'prerequisites';
const DIGESTS_FILE = 'digests.json';
const DIGESTS_FORMAT = 1;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A checked tarball, ready to be installed on hosts. */
export interface CheckedTarball {
  readonly name: string;
  readonly sha256: string;
  /** Absolute local path. */
  readonly path: string;
  readonly size: number;
  readonly compression: Compression;
  /** File name on hosts: `<sha256>.<tar suffix>`. */
  readonly hostFile: string;
}

/** A branch's prerequisites as one root. */
export interface RootSpec {
  readonly branch: string;
  /** The root's name on hosts: the sha256 of the only tarball, or of the ordered list (see {@link rootKey}). */
  readonly key: string;
  /** In extraction order (the branch's order): later tarballs overwrite files of earlier ones. */
  readonly tarballs: readonly CheckedTarball[];
}

interface DigestCacheFile {
  formatVersion: number;
  /** By absolute path. */
  files: Record<string, { size: number; mtimeMs: number; sha256: string }>;
  /**
   * Roots whose tarballs passed the safety check, as `<root key> <limit>,<limit>…` (the
   * `maxUnpackedSize` of each tarball, bytes): content-addressed, so valid for as long as
   * the limits are the same.
   */
  safeRoots: string[];
}

/** The cache; a missing or unreadable one is empty, and its damaged entries are left out (hashed again). */
function readCache(stateDir: string): DigestCacheFile {
  const cache: DigestCacheFile = { formatVersion: DIGESTS_FORMAT, files: {}, safeRoots: [] };
  let data: Partial<Record<keyof DigestCacheFile, unknown>> | null;
  try {
    data = JSON.parse(readFileSync(path.join(stateDir, PREREQUISITES_DIR, DIGESTS_FILE), 'utf8')) as Partial<Record<keyof DigestCacheFile, unknown>> | null;
  } catch {
    return cache; // no cache yet, or an unreadable one: hash again (the cache is only an optimization)
  }
  if (data?.formatVersion !== DIGESTS_FORMAT || !isRecord(data.files)) return cache;
  for (const [file, e] of Object.entries(data.files)) {
    if (isRecord(e) && typeof e.size === 'number' && typeof e.mtimeMs === 'number' && typeof e.sha256 === 'string' && SHA256_HEX.test(e.sha256)) {
      cache.files[file] = { size: e.size, mtimeMs: e.mtimeMs, sha256: e.sha256 };
    }
  }
  if (Array.isArray(data.safeRoots)) cache.safeRoots = (data.safeRoots as unknown[]).filter((r): r is string => typeof r === 'string');
  return cache;
}

export interface CheckOptions {
  readonly configDir: string;
  readonly stateDir: string;
  readonly branches: readonly BranchConfig[];
  /** Also run the safety check of the entries of these branches (reconcile: those with builds, before uploading). */
  readonly entries: (branch: string) => boolean;
  /** Write the digest cache (reconcile); `plan` only reads it. */
  readonly save: boolean;
}

export interface CheckOutcome {
  /** Errors located at the branch file's prerequisite; empty when every tarball is fine. */
  readonly diagnostics: readonly Diagnostic[];
  /** By branch name, for branches with prerequisites whose tarballs all passed. */
  readonly roots: ReadonlyMap<string, RootSpec>;
}

/** Verifies the tarballs of `branches`; each tarball file is hashed at most once. */
export async function checkPrerequisites(options: CheckOptions): Promise<CheckOutcome> {
  const cache = readCache(options.stateDir);
  let changed = false;
  const diagnostics: Diagnostic[] = [];
  const roots = new Map<string, RootSpec>();
  const digestOf = async (file: string): Promise<{ sha256: string; size: number } | { error: string }> => {
    let info;
    try {
      info = await stat(file);
    } catch (error) {
      return { error: (error as NodeJS.ErrnoException).code ?? String(error) };
    }
    const cached = cache.files[file];
    if (cached !== undefined && cached.size === info.size && cached.mtimeMs === info.mtimeMs) return { sha256: cached.sha256, size: info.size };
    const hashed = await hashFile(file);
    cache.files[file] = { size: info.size, mtimeMs: info.mtimeMs, sha256: hashed.sha256 };
    changed = true;
    return hashed;
  };

  for (const branch of options.branches) {
    if (branch.prerequisites.length === 0) continue;
    const tarballs: CheckedTarball[] = [];
    for (const p of branch.prerequisites) {
      const shown = displayPath(options.configDir, p.path);
      const digest = await digestOf(p.path);
      if ('error' in digest) {
        diagnostics.push(located(p, `prerequisite "${p.name}": cannot read ${shown} (${digest.error})`, 'correct the path (relative to the config directory) or restore the tarball'));
        continue;
      }
      if (digest.sha256 !== p.sha256) {
        diagnostics.push(
          located(
            { ...p, position: p.sha256Position },
            `prerequisite "${p.name}": ${shown} has sha256 ${digest.sha256}, but ${p.file} says ${p.sha256}`,
            `if the tarball was replaced on purpose, put its sha256 (\`sha256sum ${shown}\`) in ${p.file}: every package of the branch is then rebuilt (prerequisite-changed); otherwise restore the tarball that has the configured digest`,
          ),
        );
        continue;
      }
      const compression = await detectCompression(p.path);
      tarballs.push({ name: p.name, sha256: p.sha256, path: p.path, size: digest.size, compression, hostFile: `${p.sha256}.${COMPRESSION_SUFFIX[compression]}` });
    }
    if (tarballs.length !== branch.prerequisites.length) continue;
    const key = rootKey(tarballs.map((t) => t.sha256));
    const limits = branch.prerequisites.map((p) => p.maxUnpackedBytes);
    const checkedAs = `${key} ${limits.join(',')}`;
    if (options.entries(branch.name) && !cache.safeRoots.includes(checkedAs)) {
      const refusal = await checkTarballs(tarballs.map((t) => t.path), { maxUnpackedBytes: limits });
      if (refusal !== null) {
        const p = branch.prerequisites[refusal.index]!;
        diagnostics.push(located(p, `prerequisite "${p.name}": ${displayPath(options.configDir, p.path)}: ${refusal.message}`, `${refusal.hint}. Nothing was uploaded or built`));
        continue;
      }
      cache.safeRoots.push(checkedAs);
      changed = true;
    }
    roots.set(branch.name, { branch: branch.name, key, tarballs });
  }

  if (changed && options.save) {
    const dir = path.join(options.stateDir, PREREQUISITES_DIR);
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(path.join(dir, DIGESTS_FILE), `${JSON.stringify(cache, null, 2)}\n`);
  }
  return { diagnostics, roots };
}

function located(p: PrerequisiteConfig, message: string, hint: string): Diagnostic {
  return { severity: 'error', file: p.file, line: p.position.line, col: p.position.col, message, hint };
}
