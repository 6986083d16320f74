/**
 * Fingerprints: the sha256 of canonical data of every input that determines a
 * build's output. The data is kept beside the hash so that a plan can name the
 * input that changed. Pure.
 */
import type { RebuildPolicy } from '../config/types.js';
import type { InputChange } from '../plan/types.js';
import { hashCanonical } from './canonical.js';
import type { DependencyGraph } from './graph.js';
import { formatVersion, type Fingerprint, type Recipe, type RecipeId } from './types.js';

export const FINGERPRINT_FORMAT = 1;

/** Everything a build's output depends on. Stored in the ledger with each build. */
export interface FingerprintInputs {
  readonly format: typeof FINGERPRINT_FORMAT;
  /** sha256 of each recipe file, by path in the recipe directory. */
  readonly recipe: Readonly<Record<string, string>>;
  /** Full version `[epoch:]version-release`. */
  readonly version: string;
  /** Digest of the pipeline definition. */
  readonly pipeline: string;
  /** sha256 of each prerequisite tarball, by name. */
  readonly prerequisites: Readonly<Record<string, string>>;
  readonly rebuild: RebuildPolicy;
  /**
   * Per dependency (recipe id): its fingerprint (`transitive`), the digest of its
   * own inputs (`direct`) or its version (`version`).
   */
  readonly dependencies: Readonly<Record<string, string>>;
}

export interface FingerprintedRecipe {
  readonly fingerprint: Fingerprint;
  readonly inputs: FingerprintInputs;
}

export interface FingerprintContext {
  readonly pipelineDigest: string;
  readonly prerequisites: Readonly<Record<string, string>>;
  readonly rebuild: RebuildPolicy;
}

/** Fingerprints of every valid recipe of the graph, dependencies first. */
export function computeFingerprints(graph: DependencyGraph, context: FingerprintContext): Map<RecipeId, FingerprintedRecipe> {
  const result = new Map<RecipeId, FingerprintedRecipe>();
  const localDigests = new Map<RecipeId, string>();
  const localDigest = (recipe: Recipe): string => {
    let digest = localDigests.get(recipe.id);
    if (digest === undefined) {
      digest = hashCanonical({ recipe: recipe.files, version: formatVersion(recipe.version), pipeline: context.pipelineDigest, prerequisites: context.prerequisites });
      localDigests.set(recipe.id, digest);
    }
    return digest;
  };
  for (const id of graph.order) {
    const recipe = graph.recipes.get(id);
    if (recipe === undefined) continue;
    const dependencies: Record<string, string> = {};
    for (const depId of graph.deps.get(id) ?? []) {
      const dep = graph.recipes.get(depId);
      if (dep === undefined) {
        dependencies[depId] = 'invalid';
        continue;
      }
      switch (context.rebuild) {
        case 'transitive':
          // A dependency on a cycle has no fingerprint yet; such packages are skipped anyway.
          dependencies[depId] = result.get(depId)?.fingerprint ?? 'cycle';
          break;
        case 'direct':
          dependencies[depId] = localDigest(dep);
          break;
        case 'version':
          dependencies[depId] = formatVersion(dep.version);
          break;
      }
    }
    const inputs: FingerprintInputs = {
      format: FINGERPRINT_FORMAT,
      recipe: recipe.files,
      version: formatVersion(recipe.version),
      pipeline: context.pipelineDigest,
      prerequisites: context.prerequisites,
      rebuild: context.rebuild,
      dependencies,
    };
    result.set(id, { fingerprint: hashCanonical(inputs) as Fingerprint, inputs });
  }
  return result;
}

/** Every difference between the inputs a package was built with and the desired ones, most telling first. */
export function diffInputs(before: FingerprintInputs, after: FingerprintInputs): InputChange[] {
  const changes: InputChange[] = [];
  if (before.version !== after.version) changes.push({ kind: 'version', detail: `${before.version} -> ${after.version}` });
  changes.push(...diffRecord(before.recipe, after.recipe, 'recipe-file'));
  if (before.pipeline !== after.pipeline) changes.push({ kind: 'pipeline', detail: 'pipeline definition changed' });
  changes.push(...diffRecord(before.prerequisites, after.prerequisites, 'prerequisite', (a, b) => `${a.slice(0, 12)} -> ${b.slice(0, 12)}`));
  if (before.rebuild !== after.rebuild) changes.push({ kind: 'dependency', detail: `rebuild policy ${before.rebuild} -> ${after.rebuild}` });
  else changes.push(...diffRecord(before.dependencies, after.dependencies, 'dependency', (a, b) => (after.rebuild === 'version' ? `${a} -> ${b}` : 'changed')));
  return changes;
}

function diffRecord(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
  kind: InputChange['kind'],
  describe: (before: string, after: string) => string = () => 'changed',
): InputChange[] {
  const changes: InputChange[] = [];
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  for (const name of names) {
    const a = before[name];
    const b = after[name];
    if (a === b) continue;
    changes.push({ kind, name, detail: a === undefined ? 'added' : b === undefined ? 'removed' : describe(a, b) });
  }
  return changes;
}
