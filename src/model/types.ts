/**
 * The desired state of a branch: recipes read from its source tree, resolved into a
 * dependency graph. Pure data; nothing here does I/O.
 */
import type { Diagnostic } from '../config/diagnostic.js';
import type { InternedDependencies } from './graph.js';

/** A package name: `[A-Za-z0-9][A-Za-z0-9@._+-]*`. */
export type PackageName = string & { readonly __brand: 'PackageName' };
/** A recipe's identity inside its branch (native: the directory name = package name; FreeBSD: the origin). */
export type RecipeId = string & { readonly __brand: 'RecipeId' };
/** A sha256 hex digest of canonical fingerprint data. */
export type Fingerprint = string & { readonly __brand: 'Fingerprint' };

/**
 * Longest package name and version part, in characters. Names and versions make
 * artifact, log and workspace file names, which file systems cap at 255 bytes:
 * name (100) + epoch (10) + version (100) + release (20) + separators and suffix fit.
 */
export const MAX_NAME_LENGTH = 100;
export const MAX_VERSION_LENGTH = 100;
export const MAX_RELEASE_LENGTH = 20;
export const MAX_EPOCH_LENGTH = 10;

export const PACKAGE_NAME_PATTERN = new RegExp(`^[A-Za-z0-9][A-Za-z0-9@._+-]{0,${MAX_NAME_LENGTH - 1}}$`);
export const VERSION_PART_PATTERN = new RegExp(`^[A-Za-z0-9._+~]{1,${MAX_VERSION_LENGTH}}$`);

/** A package version `[epoch:]version[-release]`, kept as the strings the recipe wrote. */
export interface Version {
  readonly epoch?: string;
  readonly version: string;
  readonly release: string;
  /**
   * How the version is written: absent for `[epoch:]version-release`; `freebsd` for
   * FreeBSD's `version[_revision][,epoch]` (release = PORTREVISION, epoch = PORTEPOCH,
   * each left out when 0), as package file names carry it.
   */
  readonly scheme?: 'freebsd';
}

export function formatVersion(v: Version): string {
  if (v.scheme === 'freebsd') {
    return `${v.version}${v.release !== '0' ? `_${v.release}` : ''}${v.epoch !== undefined && v.epoch !== '0' ? `,${v.epoch}` : ''}`;
  }
  return `${v.epoch !== undefined && v.epoch !== '0' ? `${v.epoch}:` : ''}${v.version}-${v.release}`;
}

/** One build unit read from a source tree. A split recipe produces several packages. */
export interface Recipe {
  readonly id: RecipeId;
  /** The package names this recipe produces (native recipes: exactly one, equal to `name`). */
  readonly packages: readonly PackageName[];
  readonly name: PackageName;
  readonly version: Version;
  /** Run-time dependencies, as written (a name, or a virtual name satisfied through `provides`). */
  readonly depends: readonly string[];
  /** Build-time dependencies, as written. */
  readonly buildDepends: readonly string[];
  /** Virtual names this recipe satisfies. */
  readonly provides: readonly string[];
  /** Absolute path of the recipe directory (copied into the build workspace). */
  readonly dir: string;
  /** Absolute path of the file the recipe was read from (for diagnostics). */
  readonly file: string;
  /** sha256 of every file of the recipe directory, by path relative to `dir` (sorted on output). */
  readonly files: Readonly<Record<string, string>>;
  /** Free-form metadata from the recipe (description, …), not part of the fingerprint unless in a file. */
  readonly description?: string;
  /**
   * Set when the recipe is read but cannot be built for the branch (a .SRCINFO
   * whose `arch` excludes the branch's architecture): the plan skips it with this
   * reason, and its packages still resolve dependencies (whose recipes are skipped in turn).
   */
  readonly notBuilt?: { readonly reason: 'not-for-architecture'; readonly detail: string };
}

/** A recipe that could not be read: the package is skipped with reason `invalid-recipe`. */
export interface InvalidRecipe {
  readonly id: RecipeId;
  readonly file: string;
  readonly diagnostics: readonly Diagnostic[];
}

/** What a source adapter returns for one branch. */
export interface SourceSnapshot {
  readonly recipes: readonly Recipe[];
  readonly invalid: readonly InvalidRecipe[];
  /** Problems with the source as a whole (missing directory, …); errors stop the branch. */
  readonly diagnostics: readonly Diagnostic[];
  /** For git sources: the commit the recipes were read at. */
  readonly commit?: string;
  /** For git sources: the directory the source was extracted to (in the cache). */
  readonly checkoutDir?: string;
  /** The recipes' dependencies as interned specs, when the source has them (FreeBSD INDEX): see `GraphInput.interned`. */
  readonly interned?: InternedDependencies;
}
