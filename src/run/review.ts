/**
 * The manual review gate (pacbuild's `checkbuilds`): builds of repos with
 * `review: manual` wait in the staging area; `approve` publishes them exactly as
 * reconcile publishes (one atomic index update per repo, old versions removed,
 * afterPublish hooks), `reject` records the decision in the ledger so that the
 * same fingerprint is never built again. Both hold the state lock, like
 * reconcile. Listing and showing only read.
 */
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { Diagnostic } from '../config/diagnostic.js';
import { displayPath } from '../config/paths.js';
import type { BranchConfig, Config } from '../config/types.js';
import { appendLedger, LEDGER_FORMAT_VERSION, type ReviewRecord } from '../observe/ledger.js';
import { readRepoEntries } from '../observe/repo.js';
import { readStaged, stagedDir, stagingRoot, type StagedBuild } from '../observe/staging.js';
import { publishBranch } from '../publish/publishBranch.js';
import type { PackageToPublish } from '../publish/plainRepo.js';
import { removeStaged } from '../publish/staging.js';
import { acquireLock, type LockHolder } from './lock.js';
import { selectBranches } from './planBranches.js';

/** Every staged build of the selected branches (all when `branches` is empty), by branch then recipe. */
export function listStaged(config: Config, stateDir: string, branches: readonly string[] = []): { builds: StagedBuild[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const builds: StagedBuild[] = [];
  for (const branch of selectBranches(config, branches, diagnostics)) {
    const read = readStaged(stateDir, branch.name, displayPath(config.dir, stateDir));
    diagnostics.push(...read.diagnostics);
    builds.push(...read.staged.values());
  }
  return { builds, diagnostics };
}

/**
 * The staged build of each package named (a recipe id, or a package a split
 * recipe produces); errors for unknown branches, packages nothing staged, and
 * names staged in several branches when no branch was given.
 */
export function findStaged(config: Config, stateDir: string, packages: readonly string[], branch: string | undefined): { builds: StagedBuild[]; diagnostics: Diagnostic[] } {
  const { builds: all, diagnostics } = listStaged(config, stateDir, branch !== undefined ? [branch] : []);
  if (diagnostics.some((d) => d.severity === 'error')) return { builds: [], diagnostics };
  const display = displayPath(config.dir, stateDir);
  const found: StagedBuild[] = [];
  for (const name of packages) {
    const matches = all.filter((b) => b.recipe === name || b.entries.some((e) => e.name === name));
    if (matches.length === 0) {
      const where = branch !== undefined ? stagingRoot(display, branch) : display;
      diagnostics.push({
        severity: 'error',
        file: where,
        message: `no build of "${name}" awaits review${branch !== undefined ? ` in branch ${branch}` : ''}`,
        hint: all.length > 0 ? `staged now: ${all.map((b) => `${b.branch}/${b.recipe}`).join(', ')} (see \`buildfleet review list\`)` : 'nothing awaits review; builds of repos with `review: manual` are staged by `buildfleet reconcile`',
      });
    } else if (matches.length > 1) {
      diagnostics.push({ severity: 'error', file: display, message: `"${name}" awaits review in several branches: ${matches.map((b) => b.branch).join(', ')}`, hint: 'say which with --branch' });
    } else if (!found.includes(matches[0]!)) found.push(matches[0]!);
  }
  return { builds: diagnostics.some((d) => d.severity === 'error') ? [] : found, diagnostics };
}

/** The last `count` lines of a text file ([] when it cannot be read). */
export async function readTail(file: string, count: number, maxBytes = 64 * 1024): Promise<string[]> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return [];
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    if (length < size) lines.shift(); // probably cut
    return lines.slice(-count);
  } finally {
    await handle.close();
  }
}

/** The log kept with a staged build. */
export function stagedLogPath(stateDir: string, build: StagedBuild): string {
  return path.join(stagedDir(stateDir, build.branch, build.recipe), 'build.log');
}

export interface ReviewOptions {
  readonly config: Config;
  readonly stateDir: string;
  /** Package names (recipe ids or produced packages). */
  readonly packages: readonly string[];
  readonly branch?: string;
}

export type ReviewOutcome =
  | { readonly kind: 'error'; readonly diagnostics: readonly Diagnostic[] }
  | { readonly kind: 'locked'; readonly holder: LockHolder | null }
  | {
      readonly kind: 'done';
      /** The builds approved (published) or rejected. */
      readonly builds: readonly StagedBuild[];
      /** Publish and hook failures (the repos stay consistent). */
      readonly errors: readonly string[];
      readonly reviewId: string;
    };

async function withLock(stateDir: string, command: string, work: () => Promise<ReviewOutcome>): Promise<ReviewOutcome> {
  const lock = await acquireLock(stateDir, command);
  if (!lock.ok) return { kind: 'locked', holder: lock.holder };
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

function reviewId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-review-${randomBytes(3).toString('hex')}`;
}

/**
 * Publishes staged builds into their repos, as reconcile would have: refused
 * (nothing done) when one was built against a build that is neither published
 * nor approved with it.
 */
export async function approveStaged(options: ReviewOptions & { readonly baseEnv: Readonly<Record<string, string>>; readonly hookTimeoutSeconds?: number }): Promise<ReviewOutcome> {
  const { config, stateDir } = options;
  return withLock(stateDir, 'review approve', async () => {
    const { builds, diagnostics } = findStaged(config, stateDir, options.packages, options.branch);
    if (builds.length === 0) return { kind: 'error', diagnostics };
    const problems: Diagnostic[] = [];
    const display = (b: StagedBuild): string => `${displayPath(config.dir, stagedDir(stateDir, b.branch, b.recipe))}/staged.json`;
    for (const build of builds) {
      const branch = config.branches.find((b) => b.name === build.branch)!;
      if (branch.repos.find((r) => r.name === build.repo) === undefined) {
        problems.push({ severity: 'error', file: display(build), message: `${build.recipe} was staged for repo ${build.repo}, which branch ${build.branch} no longer has`, hint: `reject it (\`buildfleet review reject ${build.recipe} --reason …\`); the next reconcile builds it for the repo that takes it now` });
      }
      for (const dep of build.builtAgainst) {
        if (builds.some((b) => b.branch === build.branch && b.recipe === dep.recipe && b.fingerprint === dep.fingerprint)) continue;
        if (isPublished(config, branch, dep.recipe, dep.fingerprint)) continue;
        problems.push({
          severity: 'error',
          file: display(build),
          message: `${build.recipe} ${build.version} was built against ${dep.recipe} ${dep.version}, which is not published`,
          hint: `approve ${dep.recipe} first or with it (\`buildfleet review approve ${dep.recipe} ${build.recipe}\`), or reject ${build.recipe}`,
        });
      }
    }
    if (problems.length > 0) return { kind: 'error', diagnostics: [...diagnostics, ...problems] };

    const id = reviewId();
    const errors: string[] = [];
    const approved: StagedBuild[] = [];
    for (const branch of config.branches) {
      const mine = builds.filter((b) => b.branch === branch.name);
      if (mine.length === 0) continue;
      const add = new Map<string, PackageToPublish[]>();
      for (const build of mine) {
        const dir = stagedDir(stateDir, build.branch, build.recipe);
        add.set(build.repo, [...(add.get(build.repo) ?? []), ...build.entries.map((entry) => ({ entry, source: path.join(dir, entry.file) }))]);
      }
      const published = await publishBranch({
        branch: branch.name,
        repos: branch.repos,
        configDir: config.dir,
        stateDir,
        runId: id,
        add,
        remove: [],
        planned: [],
        baseEnv: options.baseEnv,
        ...(options.hookTimeoutSeconds !== undefined ? { hookTimeoutSeconds: options.hookTimeoutSeconds } : {}),
      });
      errors.push(...published.errors);
      // A repo whose publish failed is unchanged: its builds stay staged.
      const inRepos = mine.filter((b) => isPublished(config, branch, b.recipe, b.fingerprint));
      await appendLedger(stateDir, inRepos.map((b) => reviewRecord(b, 'approved')));
      for (const b of inRepos) await removeStaged(stateDir, b.branch, b.recipe);
      approved.push(...inRepos);
    }
    return { kind: 'done', builds: approved, errors, reviewId: id };
  });
}

/** Records the rejection of staged builds in the ledger (that fingerprint is never built again) and drops them. */
export async function rejectStaged(options: ReviewOptions & { readonly reason: string }): Promise<ReviewOutcome> {
  const { config, stateDir } = options;
  return withLock(stateDir, 'review reject', async () => {
    const { builds, diagnostics } = findStaged(config, stateDir, options.packages, options.branch);
    if (builds.length === 0) return { kind: 'error', diagnostics };
    await appendLedger(stateDir, builds.map((b) => reviewRecord(b, 'rejected', options.reason)));
    for (const b of builds) await removeStaged(stateDir, b.branch, b.recipe);
    return { kind: 'done', builds, errors: [], reviewId: reviewId() };
  });
}

function reviewRecord(build: StagedBuild, decision: ReviewRecord['decision'], reason?: string): ReviewRecord {
  return {
    formatVersion: LEDGER_FORMAT_VERSION,
    kind: 'review',
    at: new Date().toISOString(),
    branch: build.branch,
    recipe: build.recipe,
    version: build.version,
    fingerprint: build.fingerprint,
    decision,
    ...(reason !== undefined ? { reason } : {}),
  };
}

/** True when a repo of the branch holds a package of `recipe` with this fingerprint. */
function isPublished(config: Config, branch: BranchConfig, recipe: string, fingerprint: string): boolean {
  return branch.repos.some((repo) => {
    const index = readRepoEntries(repo, displayPath(config.dir, repo.path));
    return [...index.entries.values()].some((e) => (e.recipe ?? e.name) === recipe && e.fingerprint === fingerprint);
  });
}
