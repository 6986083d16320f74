/**
 * Reading a source tree of one directory per recipe — native `recipe.yaml`
 * directories and Arch pkgbase directories with a `.SRCINFO` — whatever the
 * format: every file of a directory is hashed, since any of them can change the
 * build's output, and the recipe file is parsed by the format's parser.
 *
 * Very large trees (the FreeBSD ports tree has ~30,000 directories) are read
 * by worker threads in parallel. Smaller ones are read in this thread: a worker
 * costs a second Node start-up and module load, and the structured clone of its
 * results, which a few thousand directories do not pay back (see
 * docs/BENCHMARKS.md, "Plan over real .SRCINFO files").
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
import { generateSrcinfo, PKGBUILD_FILE } from './printSrcinfo.js';
import { parseSrcinfoFile, SRCINFO_FILE } from './srcinfoFile.js';

/** How the recipes of a tree are written, and what parsing them needs. Plain data: it is posted to worker threads. */
export type TreeFormat = { readonly format: 'recipe' } | { readonly format: 'srcinfo'; readonly architecture: string };

export interface ReadTreeOptions {
  /** Absolute path of the source tree. */
  readonly root: string;
  /** How paths are shown in diagnostics (the root relative to the config directory). */
  readonly displayRoot: string;
  readonly format: TreeFormat;
  /** Threads to read with; default: the machine's parallelism for large trees, 1 for small ones. */
  readonly threads?: number;
  /**
   * File digests already known for some recipe directories (by directory name), e.g.
   * from a git tree hash seen before: those directories are not hashed again, only
   * their recipe file is read.
   */
  readonly knownFiles?: KnownFiles;
}

/** sha256 of every file of a recipe directory, by directory name. */
export type KnownFiles = Readonly<Record<string, Readonly<Record<string, string>>>>;

/**
 * Below this many directories, starting workers costs more than it saves. Measured on a 2-CPU
 * machine: at 2,533 .SRCINFO directories and at 3,500 native recipes one thread takes a fifth to a
 * third less CPU and less wall time than two; at 35,000 recipes two were still slightly ahead in
 * wall time, for more CPU.
 */
const PARALLEL_THRESHOLD = 10_000;
const WORKER_FILE = fileURLToPath(new URL('./recipeWorker.js', import.meta.url));

export type RecipeDirResult = Recipe | InvalidRecipe | null;

export async function readRecipeTree(options: ReadTreeOptions): Promise<SourceSnapshot> {
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
  const results = threads > 1 && existsSync(WORKER_FILE) ? await readInParallel(options, dirNames, threads) : readRecipeDirs(options, dirNames, options.knownFiles);
  const recipes: Recipe[] = [];
  const invalid: InvalidRecipe[] = [];
  for (const result of results) {
    if (result === null) continue;
    if ('diagnostics' in result) invalid.push(result);
    else recipes.push(result);
  }
  return { recipes, invalid, diagnostics };
}

/** What a worker thread is given: plain data. */
export interface WorkerInput {
  readonly root: string;
  readonly displayRoot: string;
  readonly format: TreeFormat;
  readonly dirNames: readonly string[];
  readonly known?: KnownFiles;
}

/** Splits the directories into contiguous chunks: workers take all but the first, this thread the first. */
async function readInParallel(options: ReadTreeOptions, dirNames: readonly string[], threads: number): Promise<RecipeDirResult[]> {
  const size = Math.ceil(dirNames.length / threads);
  const chunks: string[][] = [];
  for (let i = 0; i < dirNames.length; i += size) chunks.push(dirNames.slice(i, i + size));
  const workers = chunks.slice(1).map(
    (chunk) =>
      new Promise<RecipeDirResult[]>((resolve, reject) => {
        const known = options.knownFiles !== undefined ? Object.fromEntries(chunk.flatMap((d) => (options.knownFiles![d] !== undefined ? [[d, options.knownFiles![d]]] : []))) : undefined;
        const workerData: WorkerInput = { root: options.root, displayRoot: options.displayRoot, format: options.format, dirNames: chunk, ...(known !== undefined ? { known } : {}) };
        const worker = new Worker(WORKER_FILE, { workerData });
        worker.once('message', (results: RecipeDirResult[]) => resolve(results));
        worker.once('error', reject);
        worker.once('exit', (code) => {
          if (code !== 0) reject(new Error(`recipe reader thread exited with code ${code}`));
        });
      }),
  );
  const first = readRecipeDirs(options, chunks[0] ?? [], options.knownFiles);
  const rest = await Promise.all(workers);
  return [first, ...rest].flat();
}

/** Reads, hashes and parses the given recipe directories of `root`, in order. */
export function readRecipeDirs(options: { readonly root: string; readonly displayRoot: string; readonly format: TreeFormat }, dirNames: readonly string[], known?: KnownFiles): RecipeDirResult[] {
  return dirNames.map((dirName) => readRecipeDir(options.root, options.displayRoot, options.format, dirName, known?.[dirName]));
}

/** One recipe directory; null when it holds no recipe (not a recipe directory). */
function readRecipeDir(root: string, displayRoot: string, format: TreeFormat, dirName: string, knownFiles?: Readonly<Record<string, string>>): RecipeDirResult {
  const dir = path.join(root, dirName);
  const recipeFile = format.format === 'recipe' ? RECIPE_FILE : SRCINFO_FILE;
  const displayFile = `${displayRoot}/${dirName}/${recipeFile}`;
  let hashed: { files: Readonly<Record<string, string>>; recipeText: string | undefined };
  try {
    hashed =
      knownFiles !== undefined
        ? { files: knownFiles, recipeText: knownFiles[recipeFile]?.startsWith('link:') === false ? readFileSync(path.join(dir, recipeFile), 'utf8') : undefined }
        : hashDirectory(dir, recipeFile);
  } catch (error) {
    return {
      id: dirName as Recipe['id'],
      file: displayFile,
      diagnostics: [{ severity: 'error', file: displayFile, message: `cannot read the recipe directory (${(error as NodeJS.ErrnoException).code ?? String(error)})`, hint: 'check the permissions of the recipe directory' }],
    };
  }
  if (format.format === 'recipe') {
    if (hashed.recipeText === undefined) return null;
    return parseRecipeFile({ dirName, dir, displayFile, text: hashed.recipeText, files: hashed.files });
  }
  let text = hashed.recipeText;
  let shownFile = displayFile;
  if (text === undefined) {
    // No .SRCINFO: a PKGBUILD alone is read through `makepkg --printsrcinfo` when makepkg is there.
    if (hashed.files[PKGBUILD_FILE] === undefined) return null;
    shownFile = `${displayRoot}/${dirName}/${PKGBUILD_FILE}`;
    const generated = generateSrcinfo(dir, shownFile);
    if (!generated.ok) return { id: dirName as Recipe['id'], file: shownFile, diagnostics: generated.error };
    text = generated.value;
  }
  return parseSrcinfoFile({ dirName, dir, displayFile: shownFile, text, files: hashed.files, architecture: format.architecture });
}

/** sha256 (hex) of a file's bytes, or of a string's UTF-8 encoding. */
const sha256 = (data: Buffer | string): string => crypto.hash('sha256', data, 'hex');

/** sha256 of every file under `dir` (links by their target), and the text of its `recipeFile`. */
export function hashDirectory(dir: string, recipeFile: string): { files: Record<string, string>; recipeText: string | undefined } {
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
        if (entryRel === recipeFile) {
          // Read as text (Node's fastest read). Valid UTF-8 decodes and encodes back to the same
          // bytes, so the string's digest is the file's; a file that is not valid UTF-8 (U+FFFD
          // in the text) is hashed from its bytes.
          recipeText = readFileSync(entryAbs, 'utf8');
          files[entryRel] = sha256(recipeText.includes('\uFFFD') ? readFileSync(entryAbs) : recipeText);
        } else files[entryRel] = sha256(readFileSync(entryAbs));
      }
    }
  };
  walk(dir, '');
  return { files, recipeText };
}
