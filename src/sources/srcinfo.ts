/**
 * The `srcinfo` source format: one directory per pkgbase (an Arch package tree,
 * an AUR checkout) holding a PKGBUILD and its `.SRCINFO`, parsed for the
 * branch's architecture. A directory with a PKGBUILD but no `.SRCINFO` is read
 * through `makepkg --printsrcinfo` (see printSrcinfo.ts). Read by the shared
 * tree reader (recipeTree.ts), in worker threads for large trees.
 */
import type { SourceSnapshot } from '../model/types.js';
import { readRecipeTree } from './recipeTree.js';

export { SRCINFO_FILE } from './srcinfoFile.js';

export interface ReadSrcinfoOptions {
  /** Absolute path of the source tree. */
  readonly root: string;
  /** How paths are shown in diagnostics (the root relative to the config directory). */
  readonly displayRoot: string;
  /** The branch's architecture: chooses `depends_<arch>` and friends, and which packages are built. */
  readonly architecture: string;
  /** Threads to read with; default: the machine's parallelism for large trees, 1 for small ones. */
  readonly threads?: number;
}

export function readSrcinfoTree(options: ReadSrcinfoOptions): Promise<SourceSnapshot> {
  const { architecture, ...rest } = options;
  return readRecipeTree({ ...rest, format: { format: 'srcinfo', architecture } });
}
