/** Reads a repository of either format as observed state: the entries it holds, a digest of them, problems found. */
import type { Diagnostic } from '../config/diagnostic.js';
import type { RepoConfig } from '../config/types.js';
import { readPacmanRepo } from './pacmanRepo.js';
import { readPlainIndex } from './plainRepo.js';
import type { RepoEntry } from './types.js';

export function readRepoEntries(repo: Pick<RepoConfig, 'name' | 'path' | 'format'>, displayPath: string): { entries: Map<string, RepoEntry>; digest: string; diagnostics: Diagnostic[] } {
  return repo.format === 'pacman' ? readPacmanRepo(repo.path, repo.name, displayPath) : readPlainIndex(repo.path, displayPath);
}
