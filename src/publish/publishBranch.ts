/**
 * Publishing a branch's finished builds: one atomic index (plain) or database
 * (pacman) update per repo, the removals of pruned packages, then the repo's
 * afterPublish hooks — run again on later runs until they succeed once (`<state>/<branch>/hooks-pending/<repo>`).
 * Builds of the plan that were not published stay in the artifact cache.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { displayPath } from '../config/paths.js';
import type { Diagnostic } from '../config/diagnostic.js';
import type { BranchConfig, RepoConfig } from '../config/types.js';
import type { ArtifactCache } from '../execute/artifactCache.js';
import { exists, writeFileAtomic } from '../execute/fsUtil.js';
import { signaturesMissing } from '../observe/pacmanRepo.js';
import type { RemoveAction } from '../plan/types.js';
import type { PackageResult } from '../run/runResult.js';
import { runHook } from './hooks.js';
import { detachSign, SigningError } from './pacmanPackage.js';
import { publishPacmanRepo } from './pacmanRepo.js';
import { publishPlainRepo, type PackageToPublish } from './plainRepo.js';

export interface PublishBranchRequest {
  readonly branch: string;
  readonly repos: readonly RepoConfig[];
  /** For hook working directory and displayed paths. */
  readonly configDir: string;
  readonly stateDir: string;
  readonly runId: string;
  /** Finished builds, by repo name. */
  readonly add: ReadonlyMap<string, readonly PackageToPublish[]>;
  readonly remove: readonly RemoveAction[];
  /** The branch's artifact cache, pruned of everything but `planned` builds not published now (absent: left alone, as by `review approve`). */
  readonly cache?: ArtifactCache;
  /** Fingerprints of the plan's builds: kept in the cache unless published now. */
  readonly planned: readonly string[];
  readonly baseEnv: Readonly<Record<string, string>>;
  /** Seconds an afterPublish hook may run; default: the repo's `hooks.timeout`. */
  readonly hookTimeoutSeconds?: number;
  readonly onPublished?: (event: PublishedEvent) => void;
}

/** A repo updated by a publish; `signed`: package files it signed (a repo with `sign:`). */
export interface PublishedEvent {
  readonly branch: string;
  readonly repo: string;
  readonly added: number;
  readonly removed: number;
  readonly signed?: number;
}

export interface PublishBranchResult {
  /** `removed` results of pruned packages. */
  readonly removed: readonly PackageResult[];
  /** Publish and hook failures, one message each (the repos stay consistent). */
  readonly errors: readonly string[];
}

/**
 * Signs something (the branch file) with the key of each signed repo of `branches`, once per key
 * and GnuPG home: a key that cannot sign is an error before anything is built, not after.
 */
export async function checkSigningKeys(configDir: string, branches: readonly BranchConfig[]): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const tried = new Map<string, string | undefined>();
  for (const branch of branches) {
    for (const repo of branch.repos) {
      if (repo.sign === undefined) continue;
      const key = JSON.stringify([repo.sign.key, repo.sign.gnupgHome ?? null]);
      if (!tried.has(key)) {
        tried.set(
          key,
          await detachSign(path.resolve(configDir, repo.file), repo.sign).then(
            () => undefined,
            (error: unknown) => (error instanceof SigningError ? error.reason : (error as Error).message),
          ),
        );
      }
      const failure = tried.get(key);
      if (failure === undefined) continue;
      diagnostics.push({
        severity: 'error',
        file: repo.file,
        line: repo.position.line,
        col: repo.position.col,
        message: `repo ${repo.name}: key ${repo.sign.key} cannot sign${repo.sign.gnupgHome !== undefined ? ` (GnuPG home ${displayPath(configDir, repo.sign.gnupgHome)})` : ''}: ${failure}`,
        hint: 'make it a secret key of that GnuPG home (gpg --import), without a passphrase or with one gpg-agent has cached, or correct sign.key and sign.gnupgHome',
      });
    }
  }
  return diagnostics;
}

export async function publishBranch(request: PublishBranchRequest): Promise<PublishBranchResult> {
  const removed: PackageResult[] = [];
  const errors: string[] = [];
  const keepCached = new Set(request.planned);
  for (const repo of request.repos) {
    const add = request.add.get(repo.name) ?? [];
    const remove = request.remove.filter((r) => r.repo === repo.name).map((r) => r.package);
    const pendingMarker = path.join(request.stateDir, request.branch, 'hooks-pending', repo.name);
    const hooksPending = await exists(pendingMarker);
    // A signed repo whose databases have no signature is published into with nothing to add: that signs it.
    const unsigned = add.length === 0 && remove.length === 0 && signaturesMissing(repo);
    if (add.length === 0 && remove.length === 0 && !hooksPending && !unsigned) continue;
    if (add.length > 0 || remove.length > 0 || unsigned) {
      try {
        const display = displayPath(request.configDir, repo.path);
        const published =
          repo.format === 'pacman'
            ? await publishPacmanRepo({ repoPath: repo.path, repoName: repo.name, displayPath: display, add, remove, ...(repo.sign !== undefined ? { sign: repo.sign } : {}) })
            : await publishPlainRepo({ repoPath: repo.path, displayPath: display, add, remove });
        for (const item of add) keepCached.delete(item.entry.fingerprint);
        for (const left of published.leftFiles) errors.push(`repo ${repo.name} published, but a file it no longer names could not be deleted: ${left}; delete it by hand`);
        for (const entry of published.removed) removed.push({ package: entry.name, version: entry.version, status: 'removed', repo: repo.name, reason: 'not-in-source' });
        request.onPublished?.({ branch: request.branch, repo: repo.name, added: published.published.length, removed: published.removed.length, ...(published.signed !== undefined ? { signed: published.signed.length } : {}) });
      } catch (error) {
        errors.push(`publishing to repo ${repo.name} failed: ${(error as Error).message}; the repo is unchanged and the builds are kept for the next run`);
        continue;
      }
    }
    let hooksOk = true;
    for (const hook of repo.afterPublish) {
      const hookResult = await runHook({
        hook,
        displayHook: displayPath(request.configDir, hook),
        cwd: request.configDir,
        env: { ...request.baseEnv, BUILDFLEET_BRANCH: request.branch, BUILDFLEET_REPO: repo.name, BUILDFLEET_REPO_PATH: repo.path, BUILDFLEET_RUN_ID: request.runId },
        timeoutSeconds: request.hookTimeoutSeconds ?? repo.hookTimeoutSeconds,
      });
      if (!hookResult.ok) {
        hooksOk = false;
        errors.push(`${hookResult.message ?? 'hook failed'} (repo ${repo.name} is published and consistent)${hookResult.output !== '' ? `:\n${hookResult.output}` : ''}`);
      }
    }
    if (hooksOk) await rm(pendingMarker, { force: true });
    else {
      await mkdir(path.dirname(pendingMarker), { recursive: true });
      await writeFileAtomic(pendingMarker, `${request.runId}\n`);
    }
  }
  await request.cache?.prune(keepCached);
  return { removed, errors };
}
