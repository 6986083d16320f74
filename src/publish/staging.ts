/**
 * Writing the staging area (see observe/staging.ts for the layout): a finished
 * build goes in by one atomic rename of a complete directory, replacing the
 * recipe's earlier staged build; `review approve`/`reject` take it out.
 */
import { copyFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CachedBuild } from '../execute/artifactCache.js';
import { ensureDir, fsyncDir, fsyncFile, linkOrCopy } from '../execute/fsUtil.js';
import { STAGED_FILE, STAGED_LOG, stagedDir, stagingRoot, type StagedBuild } from '../observe/staging.js';

export interface StageRequest {
  readonly stateDir: string;
  /** The finished build, as stored in the artifact cache. */
  readonly cached: CachedBuild;
  /** Absolute path of each of its package files (in the artifact cache). */
  readonly files: ReadonlyMap<string, string>;
  /** staged.json without the fields taken from `cached`. */
  readonly build: Omit<StagedBuild, 'formatVersion' | 'branch' | 'recipe' | 'version' | 'fingerprint' | 'host' | 'seconds' | 'builtAt' | 'log' | 'stagedAt'>;
}

/** Puts a finished build in the staging area, replacing the recipe's earlier staged build. Returns what was written. */
export async function stageBuild(request: StageRequest): Promise<StagedBuild> {
  const { cached } = request;
  const root = stagingRoot(request.stateDir, cached.branch);
  await ensureDir(root);
  const tmp = path.join(root, `.${cached.recipe}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
  await ensureDir(tmp);
  try {
    for (const [file, source] of request.files) {
      await linkOrCopy(source, path.join(tmp, file));
      await fsyncFile(path.join(tmp, file));
    }
    // The log is kept with the build: a later build of the same version overwrites the one under logs/.
    await copyFile(cached.log, path.join(tmp, STAGED_LOG)).catch(() => undefined);
    const staged: StagedBuild = {
      formatVersion: 1,
      branch: cached.branch,
      recipe: cached.recipe,
      version: cached.version,
      fingerprint: cached.fingerprint,
      host: cached.host,
      seconds: cached.seconds,
      builtAt: cached.builtAt,
      log: cached.log,
      stagedAt: new Date().toISOString(),
      ...request.build,
    };
    await writeFile(path.join(tmp, STAGED_FILE), `${JSON.stringify(staged, null, 2)}\n`, { flush: true });
    await fsyncDir(tmp);
    const target = stagedDir(request.stateDir, cached.branch, cached.recipe);
    // The earlier staged build of this recipe (another fingerprint) is set aside, then the new one renamed in.
    const old = `${tmp}.old`;
    const hadOld = await rename(target, old).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    await rename(tmp, target);
    await fsyncDir(root);
    if (hadOld) await rm(old, { recursive: true, force: true });
    return staged;
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

/** Takes a recipe's staged build out of the staging area (after it was published or rejected). */
export async function removeStaged(stateDir: string, branch: string, recipe: string): Promise<void> {
  const dir = stagedDir(stateDir, branch, recipe);
  const doomed = path.join(stagingRoot(stateDir, branch), `.${recipe}.${process.pid}.removed.tmp`);
  // Renamed out of sight first, so that a crash half-way through the removal leaves no partial entry.
  try {
    await rename(dir, doomed);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await rm(doomed, { recursive: true, force: true });
}
