/**
 * The config repository's own commit and whether its work tree differs from it,
 * recorded with every run. Loaded by reconcile only (simple-git is imported when
 * called, so that other commands start without it).
 */
import path from 'node:path';

/** Commit of the config repository and whether its work tree differs from it (the state directory aside); null outside git. */
export async function configRepositoryState(configDir: string, stateDir: string): Promise<{ commit: string; dirty: boolean } | null> {
  // GIT_OPTIONAL_LOCKS=0: `status` must not refresh the index (the config repository is the user's).
  const [{ simpleGit }, { gitEnv }] = await Promise.all([import('simple-git'), import('./gitSource.js')]);
  const repo = simpleGit({ baseDir: configDir }).env(gitEnv({ GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0' }));
  try {
    const commit = (await repo.raw(['rev-parse', '--verify', '--quiet', 'HEAD'])).trim();
    if (commit === '') return null;
    const rel = path.relative(configDir, stateDir);
    const exclude = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? [`:(exclude)${rel}`] : [];
    const status = await repo.raw(['status', '--porcelain', '--', '.', ...exclude]);
    return { commit, dirty: status.trim() !== '' };
  } catch {
    return null;
  }
}
