/**
 * Git sources: a bare mirror of the repository in a cache under the state
 * directory, the ref resolved to a commit, and the source directory of that
 * commit extracted (`git archive`) into a read-only tree keyed by its git tree
 * hash, which the format readers then read like any directory. Nothing here
 * touches a checkout of the user's.
 *
 * The cache (`<state>/git/`) is a cache, not state: deleting it changes no plan.
 * `plan` fetches into it too (see docs/CONFIG.md, "Git sources").
 *
 * Not responsible for parsing recipes (the format readers are) nor for
 * deciding what to build.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { hasErrors, type Diagnostic } from '../config/diagnostic.js';
import { writeFileAtomic } from '../execute/fsUtil.js';
import type { SourceSnapshot } from '../model/types.js';
import type { KnownFiles } from './nativeRecipes.js';
import { isRecord, isStringRecord } from '../model/json.js';

/** Where the git cache lives inside the state directory. */
export const GIT_CACHE_DIR = 'git';

/** Extracted trees kept per repository (the newest by use); older ones are removed by `pruneGitTrees`. */
const KEPT_TREES = 4;

export interface GitSourceRequest {
  /** URL, or absolute path of a local repository. */
  readonly url: string;
  readonly ref: string;
  /** Directory inside the repository holding the recipes ('' or absent: the top). */
  readonly subdir?: string;
  /** Absolute path of the state directory. */
  readonly stateDir: string;
  /** How the branch file is shown in diagnostics. */
  readonly displayFile: string;
  /** Skip the fetch and use what the cache holds. */
  readonly offline?: boolean;
}

export interface GitCheckout {
  /** The commit `ref` resolved to. */
  readonly commit: string;
  /** The git tree hash of the source directory at that commit. */
  readonly tree: string;
  /** Absolute path of the extracted source directory (read-only; shared by every commit with the same tree). */
  readonly dir: string;
  /** Git tree hash of each top-level directory of the source directory, by name. */
  readonly dirTrees: ReadonlyMap<string, string>;
  /** Absolute path of the file remembering sha256 file digests by tree hash. */
  readonly digestsFile: string;
}

export type GitSourceOutcome = { readonly ok: true; readonly checkout: GitCheckout; readonly diagnostics: readonly Diagnostic[] } | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** The cache directory of one repository URL: readable name, then a hash of the URL. */
export function gitCacheDir(stateDir: string, url: string): string {
  const base = (url.replace(/\/+$/, '').split(/[/:]/).pop() ?? 'repo').replace(/\.git$/, '').replace(/[^A-Za-z0-9._-]/g, '_') || 'repo';
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 12);
  return path.join(stateDir, GIT_CACHE_DIR, `${base}-${hash}`);
}

/**
 * What git may see of the environment: enough to reach a remote (ssh agent,
 * proxies, CA files), nothing that redirects it (GIT_DIR, GIT_INDEX_FILE … set by
 * a hook that runs buildfleet) and nothing simple-git refuses (EDITOR, GIT_ASKPASS …).
 */
const PASSED_TO_GIT = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'XDG_CONFIG_HOME', 'SSH_AUTH_SOCK', 'http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'GIT_SSL_CAINFO', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];

export function gitEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of PASSED_TO_GIT) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...extra };
}

function git(dir?: string): SimpleGit {
  // No prompt for credentials: a run from cron must fail, not hang.
  return simpleGit({ ...(dir !== undefined ? { baseDir: dir } : {}), timeout: { block: 300_000 } }).env(gitEnv({ GIT_TERMINAL_PROMPT: '0' }));
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.find((l) => /^(fatal|error):/.test(l)) ?? lines[0] ?? 'unknown error';
}

/**
 * Text with the credentials of every `scheme://user:password@` or `https://token@` URL in it
 * replaced by `***`, for messages: a token written into source.git never reaches a log.
 */
export function withoutUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s]+)@/gi, (_, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    if (colon >= 0) return `${scheme}${userinfo.slice(0, colon)}:***@`;
    return /^https?:\/\/$/i.test(scheme) ? `${scheme}***@` : `${scheme}${userinfo}@`;
  });
}

/** The commit a git source's ref names now, after a fetch (or the one fetched last, with a warning). */
export type ResolvedRef = { readonly ok: true; readonly commit: string; readonly mirror: string; readonly diagnostics: readonly Diagnostic[] } | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/**
 * Fetches (or first clones) the repository into the cache and resolves the ref.
 * A fetch failure falls back to the commit the cache already holds for the ref,
 * with a warning. Used by {@link checkoutGitSource} and by `watch` to poll.
 */
export async function resolveGitRef(request: GitSourceRequest): Promise<ResolvedRef> {
  const cache = gitCacheDir(request.stateDir, request.url);
  const mirror = path.join(cache, 'repo.git');
  const diagnostics: Diagnostic[] = [];
  const at = (message: string, hint: string, severity: Diagnostic['severity'] = 'error'): Diagnostic => ({ severity, file: request.displayFile, message: withoutUrlCredentials(message), hint });

  const cloned = existsSync(path.join(mirror, 'HEAD'));
  if (request.offline !== true) {
    try {
      if (!cloned) {
        await mkdir(cache, { recursive: true });
        const tmp = `${mirror}.${process.pid}.tmp`;
        await rm(tmp, { recursive: true, force: true });
        // --no-hardlinks: a local repository's object files must not be shared with the cache (git touches them).
        await git().clone(request.url, tmp, ['--mirror', '--quiet', '--no-hardlinks']);
        await rename(tmp, mirror).catch(async (error: unknown) => {
          // Another process cloned it meanwhile: use theirs.
          await rm(tmp, { recursive: true, force: true });
          if (!existsSync(path.join(mirror, 'HEAD'))) throw error;
        });
      } else {
        await git(mirror).raw(['fetch', '--prune', '--quiet', 'origin']);
      }
    } catch (error) {
      if (!existsSync(path.join(mirror, 'HEAD'))) {
        return { ok: false, diagnostics: [at(`cannot clone git source ${request.url}: ${firstLine(error)}`, 'check source.git (URL or path) and that this machine can reach it and read it')] };
      }
      diagnostics.push(at(`cannot fetch git source ${request.url}: ${firstLine(error)}; using the commit fetched last`, 'check the network and source.git; the next run fetches again', 'warning'));
    }
  }
  if (!existsSync(path.join(mirror, 'HEAD'))) {
    return { ok: false, diagnostics: [at(`git source ${request.url} was never fetched`, 'run `buildfleet plan` or `reconcile` once with access to the repository')] };
  }
  try {
    const commit = (await git(mirror).raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${request.ref}^{commit}`])).trim();
    if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new Error(`no commit for ${request.ref}`);
    return { ok: true, commit, mirror, diagnostics };
  } catch {
    diagnostics.push(at(`ref "${request.ref}" does not name a commit of ${request.url}`, 'set source.ref to a branch, tag or commit of the repository'));
    return { ok: false, diagnostics };
  }
}

/**
 * Resolves the ref (see {@link resolveGitRef}) and extracts the source directory
 * at that commit; never an empty tree in place of an unreachable repository.
 */
export async function checkoutGitSource(request: GitSourceRequest): Promise<GitSourceOutcome> {
  const resolved = await resolveGitRef(request);
  if (!resolved.ok) return resolved;
  const { commit, mirror } = resolved;
  const cache = path.dirname(mirror);
  const diagnostics: Diagnostic[] = [...resolved.diagnostics];
  const at = (message: string, hint: string): Diagnostic => ({ severity: 'error', file: request.displayFile, message: withoutUrlCredentials(message), hint });
  const repo = git(mirror);
  const subdir = (request.subdir ?? '').replace(/^\/+|\/+$/g, '');
  let tree: string;
  let listing: string;
  try {
    tree = (await repo.raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${commit}:${subdir}`])).trim();
    listing = await repo.raw(['ls-tree', '-z', tree]);
  } catch {
    diagnostics.push(at(`directory "${subdir}" does not exist at commit ${commit.slice(0, 12)} of ${request.url}`, 'correct source.subdir (a directory inside the repository)'));
    return { ok: false, diagnostics };
  }
  const dirTrees = new Map<string, string>();
  for (const entry of listing.split('\0')) {
    const match = /^(\d+) (\w+) ([0-9a-f]+)\t(.*)$/s.exec(entry);
    if (match !== null && match[2] === 'tree') dirTrees.set(match[4]!, match[3]!);
  }

  const dir = path.join(cache, 'trees', tree);
  if (existsSync(dir)) {
    // Marks it used (trees are pruned oldest first).
    const now = new Date();
    await utimes(dir, now, now).catch(() => undefined);
  } else {
    try {
      await extractTree(mirror, tree, dir);
    } catch (error) {
      diagnostics.push(at(`cannot extract ${subdir === '' ? 'the tree' : subdir} at commit ${commit.slice(0, 12)}: ${firstLine(error)}`, 'check the free space and permissions of the state directory'));
      return { ok: false, diagnostics };
    }
  }
  return { ok: true, checkout: { commit, tree, dir, dirTrees, digestsFile: path.join(cache, 'digests.json') }, diagnostics };
}

/** `git archive TREE | tar -x` into a temporary directory renamed into place. */
async function extractTree(mirror: string, tree: string, dir: string): Promise<void> {
  const tmp = `${dir}.${process.pid}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const tar = await import('tar');
  await new Promise<void>((resolve, reject) => {
    const child = spawn('git', ['--git-dir', mirror, 'archive', '--format=tar', tree], { stdio: ['ignore', 'pipe', 'pipe'], env: gitEnv({}) });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const extract = tar.x({ cwd: tmp, preservePaths: false });
    let extracted = false;
    let exited: number | null | undefined;
    const settle = (): void => {
      if (!extracted || exited === undefined) return;
      if (exited === 0) resolve();
      else reject(new Error(stderr.trim() || `git archive exited with ${exited}`));
    };
    extract.on('error', reject);
    extract.on('finish', () => {
      extracted = true;
      settle();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      exited = code;
      settle();
    });
    child.stdout.pipe(extract);
  });
  await mkdir(path.dirname(dir), { recursive: true });
  try {
    await rename(tmp, dir);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    if (!existsSync(dir)) throw error;
  }
}

/**
 * Reads a git source with a format reader: checks the commit out (see
 * {@link checkoutGitSource}), hands the reader the file digests of every recipe
 * directory whose git tree hash was seen before (so it hashes only directories
 * that changed), and remembers the digests of this commit's directories. The
 * digests are the same sha256 a path source computes, so identical content
 * gives identical fingerprints whichever way it is read.
 */
export async function readGitSource(
  request: GitSourceRequest,
  readTree: (tree: { root: string; displayRoot: string; knownFiles: KnownFiles }) => Promise<SourceSnapshot>,
): Promise<SourceSnapshot> {
  const outcome = await checkoutGitSource(request);
  if (!outcome.ok) return { recipes: [], invalid: [], diagnostics: outcome.diagnostics };
  const { checkout } = outcome;
  const remembered = readTreeDigests(checkout.digestsFile);
  const knownFiles: Record<string, Readonly<Record<string, string>>> = {};
  for (const [name, tree] of checkout.dirTrees) {
    const files = remembered[tree];
    if (files !== undefined) knownFiles[name] = files;
  }
  const subdir = (request.subdir ?? '').replace(/^\/+|\/+$/g, '');
  const displayRoot = `${checkout.commit.slice(0, 12)}:${subdir === '' ? '.' : subdir}`;
  const snapshot = await readTree({ root: checkout.dir, displayRoot, knownFiles });
  if (!hasErrors(snapshot.diagnostics)) {
    const digests: TreeDigests = {};
    for (const recipe of snapshot.recipes) {
      const tree = checkout.dirTrees.get(path.basename(recipe.dir));
      if (tree !== undefined) digests[tree] = recipe.files;
    }
    const unchanged = Object.keys(digests).length === Object.keys(remembered).length && Object.keys(digests).every((t) => remembered[t] !== undefined);
    if (!unchanged) await writeTreeDigests(checkout.digestsFile, digests);
  }
  return { ...snapshot, diagnostics: [...outcome.diagnostics, ...snapshot.diagnostics], commit: checkout.commit, checkoutDir: checkout.dir };
}

/** sha256 digests of recipe directory files by the directory's git tree hash (see {@link GitCheckout.digestsFile}). */
export type TreeDigests = Record<string, Readonly<Record<string, string>>>;

export function readTreeDigests(file: string): TreeDigests {
  let data: { formatVersion?: unknown; trees?: unknown } | null;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as { formatVersion?: unknown; trees?: unknown } | null;
  } catch {
    return {};
  }
  if (data?.formatVersion !== 1 || !isRecord(data.trees)) return {};
  // A damaged entry is not remembered (its files are hashed again); `trees: null` was a TypeError.
  const trees: TreeDigests = {};
  for (const [tree, files] of Object.entries(data.trees)) if (isStringRecord(files)) trees[tree] = files;
  return trees;
}

/** Keeps the digests of the directories of the current tree only (a bounded file). Best effort: it is a cache. */
export async function writeTreeDigests(file: string, trees: TreeDigests): Promise<void> {
  try {
    await writeFileAtomic(file, `${JSON.stringify({ formatVersion: 1, trees })}\n`);
  } catch {
    // A cache that cannot be written only makes the next read slower.
  }
}

/** Removes all but the newest extracted trees of every cached repository, keeping `keep` (absolute paths). Call with the state lock held. */
export async function pruneGitTrees(stateDir: string, keep: readonly string[]): Promise<void> {
  const root = path.join(stateDir, GIT_CACHE_DIR);
  let repos: string[];
  try {
    repos = await readdir(root);
  } catch {
    return;
  }
  for (const repo of repos) {
    const treesDir = path.join(root, repo, 'trees');
    let names: string[];
    try {
      names = await readdir(treesDir);
    } catch {
      continue;
    }
    const dated = await Promise.all(names.map(async (name) => ({ name, at: (await stat(path.join(treesDir, name)).catch(() => null))?.mtimeMs ?? 0 })));
    dated.sort((a, b) => b.at - a.at);
    for (const { name } of dated.slice(KEPT_TREES)) {
      const abs = path.join(treesDir, name);
      if (!keep.includes(abs)) await rm(abs, { recursive: true, force: true });
    }
  }
}
