/**
 * Reading the staging area: `<state>/<branch>/staged/<recipe>/` holds a finished
 * build of a repo with `review: manual` (its package files, a copy of its log
 * and `staged.json`) until `buildfleet review approve` publishes it or `review
 * reject` drops it. One staged build per recipe: a newer build replaces it.
 * Writing is in publish/staging.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../config/diagnostic.js';
import type { InputChange } from '../plan/types.js';
import { isPlainFileName } from './plainRepo.js';
import type { RepoEntry, StagedInfo } from './types.js';
import { isRecord } from '../model/json.js';

export const STAGED_DIR = 'staged';
export const STAGED_FILE = 'staged.json';
/** The copy of the build log kept with the staged build. */
export const STAGED_LOG = 'build.log';
export const STAGED_FORMAT_VERSION = 1;

/** `staged.json`: everything `review show` prints and `review approve` publishes. */
export interface StagedBuild extends StagedInfo {
  readonly formatVersion: typeof STAGED_FORMAT_VERSION;
  readonly branch: string;
  readonly runId: string;
  readonly host: string;
  /** Wall time of the build, seconds. */
  readonly seconds: number;
  /** ISO 8601. */
  readonly builtAt: string;
  /** Why the plan built it (`version-changed`, …), its detail and every input that changed. */
  readonly reason: string;
  readonly detail?: string;
  readonly changes?: readonly InputChange[];
  /** Why it was staged rather than published. */
  readonly review: string;
  /** Where the build log was written (a later build of the same version overwrites it; the staged copy stays). */
  readonly log: string;
  /** Dependencies (transitively) that awaited review when it was built: they must be published first, or approved with it. */
  readonly builtAgainst: readonly { readonly recipe: string; readonly version: string; readonly fingerprint: string }[];
}

export function stagingRoot(stateDir: string, branch: string): string {
  return path.join(stateDir, branch, STAGED_DIR);
}

export function stagedDir(stateDir: string, branch: string, recipe: string): string {
  return path.join(stagingRoot(stateDir, branch), recipe);
}

/** Every complete staged build of a branch, by recipe id; damaged entries are reported as warnings and left out. */
export function readStaged(stateDir: string, branch: string, displayStateDir: string): { staged: Map<string, StagedBuild>; diagnostics: Diagnostic[] } {
  const staged = new Map<string, StagedBuild>();
  const diagnostics: Diagnostic[] = [];
  let names: string[];
  try {
    names = readdirSync(stagingRoot(stateDir, branch));
  } catch {
    return { staged, diagnostics };
  }
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue; // a staging write in progress or left by a crash
    const file = path.join(stagingRoot(stateDir, branch), name, STAGED_FILE);
    const display = `${displayStateDir}/${branch}/${STAGED_DIR}/${name}/${STAGED_FILE}`;
    let build: StagedBuild;
    try {
      build = JSON.parse(readFileSync(file, 'utf8')) as StagedBuild;
    } catch (error) {
      diagnostics.push({ severity: 'warning', file: display, message: `unreadable staged build (${(error as NodeJS.ErrnoException).code ?? 'not JSON'}); it is ignored`, hint: 'remove the directory; the next reconcile builds the package again' });
      continue;
    }
    if (
      !isRecord(build) ||
      build.formatVersion !== STAGED_FORMAT_VERSION ||
      build.recipe !== name ||
      typeof build.fingerprint !== 'string' ||
      !Array.isArray(build.entries) ||
      !build.entries.every(isStagedEntry)
    ) {
      diagnostics.push({ severity: 'warning', file: display, message: 'staged build of an unknown format; it is ignored', hint: 'remove the directory; the next reconcile builds the package again' });
      continue;
    }
    staged.set(name, build);
  }
  return { staged, diagnostics };
}

/**
 * An index entry of a staged build: `review approve` publishes `file` from the staged build's
 * directory, so it must be a plain name there (`../x` would have published a file from elsewhere).
 */
function isStagedEntry(value: unknown): boolean {
  if (!isRecord(value)) return false;
  const e = value as Partial<Record<keyof RepoEntry, unknown>>;
  return (
    typeof e.name === 'string' &&
    typeof e.version === 'string' &&
    typeof e.file === 'string' &&
    isPlainFileName(e.file) &&
    typeof e.fingerprint === 'string' &&
    Array.isArray(e.depends) &&
    Array.isArray(e.provides)
  );
}
