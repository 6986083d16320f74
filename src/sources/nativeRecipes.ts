/**
 * The native source format: one directory per package holding `recipe.yaml` and
 * whatever the pipeline needs (build scripts, patches). Read by the shared tree
 * reader (recipeTree.ts).
 */
import type { SourceSnapshot } from '../model/types.js';
import { RECIPE_FILE } from './nativeRecipeFile.js';
import { hashDirectory as hashTreeDirectory, readRecipeTree, type KnownFiles } from './recipeTree.js';

export { RECIPE_FILE, type KnownFiles };

export interface ReadNativeOptions {
  /** Absolute path of the source tree. */
  readonly root: string;
  /** How paths are shown in diagnostics (the root relative to the config directory). */
  readonly displayRoot: string;
  /** Threads to read with; default: the machine's parallelism for large trees, 1 for small ones. */
  readonly threads?: number;
  /**
   * File digests already known for some recipe directories (by directory name), e.g.
   * from a git tree hash seen before: those directories are not hashed again, only
   * their recipe.yaml is read.
   */
  readonly knownFiles?: KnownFiles;
}

export function readNativeRecipes(options: ReadNativeOptions): Promise<SourceSnapshot> {
  return readRecipeTree({ ...options, format: { format: 'recipe' } });
}

/** sha256 of every file under `dir` (links by their target), and the text of its recipe.yaml. */
export function hashDirectory(dir: string): { files: Record<string, string>; recipeText: string | undefined } {
  return hashTreeDirectory(dir, RECIPE_FILE);
}
