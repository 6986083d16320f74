/**
 * The shared real-world corpora (`../shared/corpora/` relative to the project
 * root; from a worktree under /work/wt/, `../../shared/corpora/`), or
 * BUILDFLEET_CORPORA when set.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './cli.js';

export const CORPORA: string =
  process.env.BUILDFLEET_CORPORA ?? [path.resolve(REPO_ROOT, '..', 'shared', 'corpora'), path.resolve(REPO_ROOT, '..', '..', 'shared', 'corpora')].find((p) => existsSync(p)) ?? path.resolve(REPO_ROOT, '..', 'shared', 'corpora');

export function corpus(...parts: string[]): string {
  return path.join(CORPORA, ...parts);
}
