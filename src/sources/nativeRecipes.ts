/**
 * The native source format: one directory per package holding `recipe.yaml` and
 * whatever the pipeline needs (build scripts, patches). Every file of the
 * directory is hashed, since any of them can change the build's output.
 *
 * Large trees (the FreeBSD ports tree has ~30,000 directories) are read by
 * worker threads in parallel: reading and hashing is most of a plan's time.
 */
import crypto from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, type Dirent } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Diagnostic } from '../config/diagnostic.js';
import type { InvalidRecipe, Recipe, SourceSnapshot } from '../model/types.js';
import { parseRecipeFile, RECIPE_FILE } from './nativeRecipeFile.js';

export { RECIPE_FILE };

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

/** sha256 of every file of a recipe directory, by directory name. */
export type KnownFiles = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** Below this many directories, starting workers costs more than it saves. */
const PARALLEL_THRESHOLD = 1500;
const WORKER_FILE = fileURLToPath(new URL('./recipeWorker.js', import.meta.url));

export type RecipeDirResult = Recipe | InvalidRecipe | null;

export async function readNativeRecipes(options: ReadNativeOptions): Promise<SourceSnapshot> {
  const diagnostics: Diagnostic[] = [];
  let entries: Dirent[];
  try {
    entries = readdirSync(options.root, { withFileTypes: true });
  } catch (error) {
    diagnostics.push({ severity: 'error', file: options.displayRoot, message: `cannot read the source tree (${(error as NodeJS.ErrnoException).code ?? String(error)})`, hint: 'check source.path in the branch file' });
    return { recipes: [], invalid: [], diagnostics };
  }
  const dirNames = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  const threads = options.threads ?? (dirNames.length >= PARALLEL_THRESHOLD ? Math.min(availableParallelism(), 8) : 1);
  const results = threads > 1 && existsSync(WORKER_FILE) ? await readInParallel(options, dirNames, threads) : readRecipeDirs(options.root, options.displayRoot, dirNames, options.knownFiles);
  const recipes: Recipe[] = [];
  const invalid: InvalidRecipe[] = [];
  for (const result of results) {
    if (result === null) continue;
    if ('diagnostics' in result) invalid.push(result);
    else recipes.push(result);
  }
  return { recipes, invalid, diagnostics };
}

/** Splits the directories into contiguous chunks: workers take all but the first, this thread the first. */
async function readInParallel(options: ReadNativeOptions, dirNames: readonly string[], threads: number): Promise<RecipeDirResult[]> {
  const size = Math.ceil(dirNames.length / threads);
  const chunks: string[][] = [];
  for (let i = 0; i < dirNames.length; i += size) chunks.push(dirNames.slice(i, i + size));
  const workers = chunks.slice(1).map(
    (chunk) =>
      new Promise<RecipeDirResult[]>((resolve, reject) => {
        const known = options.knownFiles !== undefined ? Object.fromEntries(chunk.flatMap((d) => (options.knownFiles![d] !== undefined ? [[d, options.knownFiles![d]]] : []))) : undefined;
        const worker = new Worker(WORKER_FILE, { workerData: { root: options.root, displayRoot: options.displayRoot, dirNames: chunk, known } });
        worker.once('message', (results: RecipeDirResult[]) => resolve(results));
        worker.once('error', reject);
        worker.once('exit', (code) => {
          if (code !== 0) reject(new Error(`recipe reader thread exited with code ${code}`));
        });
      }),
  );
  const first = readRecipeDirs(options.root, options.displayRoot, chunks[0] ?? [], options.knownFiles);
  const rest = await Promise.all(workers);
  return [first, ...rest].flat();
}

/** Reads, hashes and parses the given recipe directories of `root`, in order. */
export function readRecipeDirs(root: string, displayRoot: string, dirNames: readonly string[], known?: KnownFiles): RecipeDirResult[] {
  return dirNames.map((dirName) => readRecipeDir(root, displayRoot, dirName, known?.[dirName]));
}

/** One recipe directory; null when it holds no recipe.yaml (not a recipe). */
function readRecipeDir(root: string, displayRoot: string, dirName: string, knownFiles?: Readonly<Record<string, string>>): RecipeDirResult {
  const dir = path.join(root, dirName);
  const displayFile = `${displayRoot}/${dirName}/${RECIPE_FILE}`;
  let hashed: { files: Readonly<Record<string, string>>; recipeText: string | undefined };
  try {
    hashed =
      knownFiles !== undefined
        ? { files: knownFiles, recipeText: knownFiles[RECIPE_FILE]?.startsWith('link:') === false ? readFileSync(path.join(dir, RECIPE_FILE), 'utf8') : undefined }
        : hashDirectory(dir);
  } catch (error) {
    return {
      id: dirName as Recipe['id'],
      file: displayFile,
      diagnostics: [{ severity: 'error', file: displayFile, message: `cannot read the recipe directory (${(error as NodeJS.ErrnoException).code ?? String(error)})`, hint: 'check the permissions of the recipe directory' }],
    };
  }
  if (hashed.recipeText === undefined) return null;
  return parseRecipeFile({ dirName, dir, displayFile, text: hashed.recipeText, files: hashed.files });
}

const sha256 = (data: Buffer): string => crypto.createHash('sha256').update(data).digest('hex');

/** sha256 of every file under `dir` (links by their target), and the text of recipe.yaml. */
export function hashDirectory(dir: string): { files: Record<string, string>; recipeText: string | undefined } {
  const files: Record<string, string> = {};
  let recipeText: string | undefined;
  const walk = (abs: string, rel: string): void => {
    const entries = readdirSync(abs, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const entryAbs = `${abs}/${entry.name}`;
      const entryRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== '.git') walk(entryAbs, entryRel);
      } else if (entry.isSymbolicLink()) {
        files[entryRel] = `link:${readlinkSync(entryAbs)}`;
      } else if (entry.isFile()) {
        const content = readFileSync(entryAbs);
        files[entryRel] = sha256(content);
        if (entryRel === RECIPE_FILE) recipeText = content.toString('utf8');
      }
    }
  };
  walk(dir, '');
  return { files, recipeText };
}
