/** Builders of pure model data (recipes, graphs, fingerprints, observed state) for unit tests. */
import type { RebuildPolicy } from '../../src/config/types.js';
import { computeFingerprints, type FingerprintedRecipe, type FingerprintInputs, type FingerprintTable } from '../../src/model/fingerprint.js';
import { buildDependencyGraph, type DependencyGraph } from '../../src/model/graph.js';
import type { InvalidRecipe, PackageName, Recipe, RecipeId } from '../../src/model/types.js';
import type { ObservedBranch, RecipeHistory, RepoEntry } from '../../src/observe/types.js';

export interface RecipeSpec {
  readonly version?: string;
  readonly release?: string;
  readonly epoch?: string;
  readonly depends?: readonly string[];
  readonly buildDepends?: readonly string[];
  readonly provides?: readonly string[];
  /** sha256 (or any stand-in text) of each recipe file; default: recipe.yaml and build.sh derived from the name. */
  readonly files?: Readonly<Record<string, string>>;
}

export function recipe(name: string, spec: RecipeSpec = {}): Recipe {
  return {
    id: name as RecipeId,
    name: name as PackageName,
    packages: [name as PackageName],
    version: { ...(spec.epoch !== undefined ? { epoch: spec.epoch } : {}), version: spec.version ?? '1.0', release: spec.release ?? '1' },
    depends: spec.depends ?? [],
    buildDepends: spec.buildDepends ?? [],
    provides: spec.provides ?? [],
    dir: `/src/${name}`,
    file: `recipes/${name}/recipe.yaml`,
    files: spec.files ?? { 'recipe.yaml': `yaml-of-${name}`, 'build.sh': `script-of-${name}` },
  };
}

export function invalidRecipe(id: string, message = 'recipe name "x" does not match its directory'): InvalidRecipe {
  return { id: id as RecipeId, file: `recipes/${id}/recipe.yaml`, diagnostics: [{ severity: 'error', file: `recipes/${id}/recipe.yaml`, line: 1, col: 7, message }] };
}

export function graphOf(recipes: readonly Recipe[], invalidIds: readonly string[] = []): DependencyGraph {
  return buildDependencyGraph({ recipes, invalidIds: invalidIds as RecipeId[] });
}

export const PIPELINE_DIGEST = 'p'.repeat(64);

export interface FingerprintOptions {
  readonly rebuild?: RebuildPolicy;
  readonly pipelineDigest?: string;
  readonly prerequisites?: Readonly<Record<string, string>>;
}

export function fingerprintsOf(graph: DependencyGraph, options: FingerprintOptions = {}): FingerprintTable {
  return computeFingerprints(graph, {
    pipelineDigest: options.pipelineDigest ?? PIPELINE_DIGEST,
    prerequisites: options.prerequisites ?? {},
    rebuild: options.rebuild ?? 'transitive',
  });
}

/** The fingerprint of `id` (fails the test when there is none). */
export function fingerprintOf(fingerprints: ReadonlyMap<RecipeId, FingerprintedRecipe>, id: string): FingerprintedRecipe {
  const f = fingerprints.get(id as RecipeId);
  if (f === undefined) throw new Error(`no fingerprint for ${id}`);
  return f;
}

/** A repo index entry for a package published at `fingerprint`. */
export function repoEntry(name: string, version: string, fingerprint: string): RepoEntry {
  return { name, version, file: `${name}-${version}.tar.gz`, sha256: 'f'.repeat(64), size: 1, depends: [], provides: [], fingerprint };
}

export interface HistorySpec {
  readonly last?: RecipeHistory['last'];
  /** Successful builds: fingerprint → inputs. */
  readonly built?: readonly FingerprintedRecipe[];
  readonly lastSuccessSeconds?: number;
  readonly rejected?: Readonly<Record<string, string>>;
}

export function history(spec: HistorySpec): RecipeHistory {
  return {
    ...(spec.last !== undefined ? { last: spec.last } : {}),
    builtInputs: new Map<string, FingerprintInputs>((spec.built ?? []).map((b) => [b.fingerprint, b.inputs])),
    ...(spec.lastSuccessSeconds !== undefined ? { lastSuccessSeconds: spec.lastSuccessSeconds } : {}),
    rejected: new Map(Object.entries(spec.rejected ?? {})),
  };
}

/** Observed state of a branch: repo name → entries, recipe id → history. */
export function observed(repos: Readonly<Record<string, readonly RepoEntry[]>>, histories: Readonly<Record<string, RecipeHistory>> = {}): ObservedBranch {
  return {
    repos: new Map(Object.entries(repos).map(([name, entries]) => [name, { name, path: `/repos/${name}`, entries: new Map(entries.map((e) => [e.name, e])) }])),
    history: new Map(Object.entries(histories)),
  };
}
