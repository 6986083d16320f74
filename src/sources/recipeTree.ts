/**
 * Reading a source tree of one directory per recipe — native `recipe.yaml`
 * directories and Arch pkgbase directories with a `.SRCINFO` — whatever the
 * format: every file of a directory is hashed, since any of them can change the
 * build's output, and the recipe file is parsed by the format's parser.
 *
 * Large trees are read by this thread and worker threads together (see
 * {@link PARALLEL_THRESHOLD}). The directories are cut into small chunks that every thread
 * claims from one shared counter, so the work balances itself: a worker that is
 * slow to start (a Node worker takes about 75 ms to boot) claims fewer chunks, and
 * one that has not started when the chunks run out is stopped. A worker loads only
 * this module and its format's parser, and posts each chunk's results as soon as
 * they are read.
 */
import crypto from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, type Dirent } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Diagnostic } from '../config/diagnostic.js';
import type { InvalidRecipe, Recipe, SourceSnapshot } from '../model/types.js';

/** How the recipes of a tree are written, and what parsing them needs. Plain data: it is posted to worker threads. */
export type TreeFormat = { readonly format: 'recipe' } | { readonly format: 'srcinfo'; readonly architecture: string };

export interface ReadTreeOptions {
  /** Absolute path of the source tree. */
  readonly root: string;
  /** How paths are shown in diagnostics (the root relative to the config directory). */
  readonly displayRoot: string;
  readonly format: TreeFormat;
  /** Threads to read with (this one included); default: one per {@link PARALLEL_THRESHOLD} directories begun, up to the machine's parallelism (at most 8). */
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
 * One more thread per this many directories. A worker costs a second Node start-up (about 75 ms of
 * CPU) and a structured clone of its results; on a 2-CPU machine shared with other work the 2,533
 * directories of the .SRCINFO benchmark gain little wall time from it for more CPU (measured:
 * docs/BENCHMARKS.md, "Plan over real .SRCINFO files").
 */
export const PARALLEL_THRESHOLD = 10_000;
/** Directories per chunk claimed by a thread: small enough that threads finish together, large enough that claiming costs nothing. */
const CHUNK_SIZE = 32;
const WORKER_FILE = fileURLToPath(new URL('./recipeWorker.js', import.meta.url));

export type RecipeDirResult = Recipe | InvalidRecipe | null;

/** A format's recipe file and parser, loaded on demand: reading a .SRCINFO tree (in a worker too) never loads the YAML parser and schema validators of native recipes. */
export interface FormatParser {
  readonly recipeFile: string;
  /** The recipe of a directory from its recipe file's text (undefined: the directory has none), or null when it is not a recipe directory. */
  parse(input: { readonly dirName: string; readonly dir: string; readonly displayRoot: string; readonly displayFile: string; readonly text: string | undefined; readonly files: Readonly<Record<string, string>> }): RecipeDirResult;
}

export async function loadFormat(format: TreeFormat): Promise<FormatParser> {
  if (format.format === 'recipe') {
    const { parseRecipeFile, RECIPE_FILE } = await import('./nativeRecipeFile.js');
    return { recipeFile: RECIPE_FILE, parse: ({ dirName, dir, displayFile, text, files }) => (text === undefined ? null : parseRecipeFile({ dirName, dir, displayFile, text, files })) };
  }
  const [{ parseSrcinfoFile, SRCINFO_FILE }, { generateSrcinfo, PKGBUILD_FILE }] = await Promise.all([import('./srcinfoFile.js'), import('./printSrcinfo.js')]);
  const { architecture } = format;
  return {
    recipeFile: SRCINFO_FILE,
    parse: ({ dirName, dir, displayRoot, displayFile, text, files }) => {
      if (text !== undefined) return parseSrcinfoFile({ dirName, dir, displayFile, text, files, architecture });
      // No .SRCINFO: a PKGBUILD alone is read through `makepkg --printsrcinfo` when makepkg is there.
      if (files[PKGBUILD_FILE] === undefined) return null;
      const shownFile = `${displayRoot}/${dirName}/${PKGBUILD_FILE}`;
      const generated = generateSrcinfo(dir, shownFile);
      if (!generated.ok) return { id: dirName as Recipe['id'], file: shownFile, diagnostics: generated.error };
      return parseSrcinfoFile({ dirName, dir, displayFile: shownFile, text: generated.value, files, architecture });
    },
  };
}

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
  const threads = options.threads ?? defaultThreads(dirNames.length);
  // Workers are started first, so that their start-up overlaps this thread's work (and the caller's:
  // planBranches reads the repositories while this function waits for the format's parser).
  const readers = threads > 1 && dirNames.length > CHUNK_SIZE && existsSync(WORKER_FILE) ? startTreeReaders({ ...options, dirNames }, { workers: threads - 1 }) : undefined;
  const parser = await loadFormat(options.format);
  const results = readers !== undefined ? await readers.read(parser) : readRecipeDirs(options, parser, dirNames, options.knownFiles);
  const recipes: Recipe[] = [];
  const invalid: InvalidRecipe[] = [];
  for (const result of results) {
    if (result === null) continue;
    if ('diagnostics' in result) invalid.push(result);
    else recipes.push(result);
  }
  return { recipes, invalid, diagnostics };
}

/** Threads for a tree of `dirs` directories: one, and one more per {@link PARALLEL_THRESHOLD} directories, up to the machine's parallelism (at most 8). */
function defaultThreads(dirs: number): number {
  return Math.max(1, Math.min(availableParallelism(), 8, Math.floor(dirs / PARALLEL_THRESHOLD) + 1));
}

/** The directories of a tree to read, and how. */
export interface TreeInput {
  readonly root: string;
  readonly displayRoot: string;
  readonly format: TreeFormat;
  /** In the order of the results. */
  readonly dirNames: readonly string[];
  readonly knownFiles?: KnownFiles;
}

/** What a worker thread is given: plain data, and the shared claim counter. */
export interface WorkerInput extends TreeInput {
  readonly chunkSize: number;
  /** Int32Array over a SharedArrayBuffer: [0] the next unclaimed chunk, [1 + w] set to 1 by worker w before it claims its first. */
  readonly shared: SharedArrayBuffer;
  readonly index: number;
}

/** What a worker thread posts back: each chunk's results as soon as they are read (its heap then keeps none of them), then that it is done. */
export type WorkerMessage = { readonly chunk: number; readonly results: RecipeDirResult[] } | { readonly done: true };

/** node:worker_threads, loaded when a tree is first read with workers: most plans start none, and loading it costs about a millisecond. */
function workerThreads(): typeof import('node:worker_threads') {
  return createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
}

/** Reads chunks of `dirNames` (`chunkSize` directories each) while unclaimed ones are left on `counter[0]`, handing each chunk's results to `take`. */
export function claimChunks(input: TreeInput & { readonly chunkSize: number }, parser: FormatParser, counter: Int32Array, take: (chunk: number, results: RecipeDirResult[]) => void): void {
  const { dirNames, chunkSize } = input;
  const chunks = Math.ceil(dirNames.length / chunkSize);
  for (let chunk = Atomics.add(counter, 0, 1); chunk < chunks; chunk = Atomics.add(counter, 0, 1)) {
    take(chunk, readRecipeDirs(input, parser, dirNames.slice(chunk * chunkSize, (chunk + 1) * chunkSize), input.knownFiles));
  }
}

/**
 * Starts `workers` worker threads reading chunks of `input.dirNames`. `read` then reads chunks in
 * this thread too (unless `thisThread` is false: tests check the workers' path alone), stops the
 * workers that have not begun to claim when none is left, and gathers every chunk's results in
 * order. Needs the compiled worker file (dist/sources/recipeWorker.js).
 */
export function startTreeReaders(input: TreeInput, options: { readonly workers: number; readonly chunkSize?: number }): { read(parser: FormatParser, options?: { readonly thisThread?: boolean }): Promise<RecipeDirResult[]> } {
  const chunkSize = options.chunkSize ?? CHUNK_SIZE;
  const chunks = Math.ceil(input.dirNames.length / chunkSize);
  const shared = new SharedArrayBuffer(4 * (1 + options.workers));
  const counter = new Int32Array(shared);
  const byChunk: RecipeDirResult[][] = [];
  const workers = Array.from({ length: options.workers }, (_, index) => {
    const workerData: WorkerInput = { ...input, chunkSize, shared, index };
    const worker = new (workerThreads().Worker)(WORKER_FILE, { workerData });
    const done = new Promise<void>((resolve, reject) => {
      worker.on('message', (message: WorkerMessage) => {
        if ('done' in message) resolve();
        else byChunk[message.chunk] = message.results;
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`recipe reader thread exited with code ${code} before it had read its chunks`)));
    });
    // Not awaited when the worker is stopped before it claims: no unhandled rejection.
    done.catch(() => undefined);
    return { worker, done };
  });
  return {
    async read(parser, { thisThread = true } = {}) {
      const waits: Promise<void>[] = [];
      if (thisThread) {
        claimChunks({ ...input, chunkSize }, parser, counter, (chunk, results) => (byChunk[chunk] = results));
        // Every chunk is claimed now: a worker that has not begun to claim will claim nothing. Stop it.
        for (const [w, { worker, done }] of workers.entries()) {
          if (Atomics.load(counter, 1 + w) === 1) waits.push(done);
          else void worker.terminate();
        }
      } else waits.push(...workers.map((w) => w.done));
      await Promise.all(waits);
      for (let chunk = 0; chunk < chunks; chunk++) if (byChunk[chunk] === undefined) throw new Error(`recipe reader: chunk ${chunk} of ${chunks} was not read`);
      return byChunk.flat();
    },
  };
}

/** Reads, hashes and parses the given recipe directories of `root`, in order. */
export function readRecipeDirs(options: { readonly root: string; readonly displayRoot: string }, parser: FormatParser, dirNames: readonly string[], known?: KnownFiles): RecipeDirResult[] {
  const prefix = dirPrefix(options.root);
  return dirNames.map((dirName) => readRecipeDir(prefix + dirName, options.displayRoot, parser, dirName, known?.[dirName]));
}

/**
 * What `path.join(root, name)` puts before `name`, for any directory entry name (never `.`, `..`
 * or one with a `/`): the normalized root and its separator. Joining thousands of entry names by
 * concatenation rather than `path.join` saves normalizing the root for each (about 10 ms of the
 * 2,533-directory .SRCINFO plan).
 */
export function dirPrefix(root: string): string {
  return path.join(root, 'x').slice(0, -1);
}

/** One recipe directory (`dir`: its path, root and name joined); null when it holds no recipe (not a recipe directory). */
function readRecipeDir(dir: string, displayRoot: string, parser: FormatParser, dirName: string, knownFiles?: Readonly<Record<string, string>>): RecipeDirResult {
  const { recipeFile } = parser;
  const displayFile = `${displayRoot}/${dirName}/${recipeFile}`;
  let hashed: { files: Readonly<Record<string, string>>; recipeText: string | undefined };
  try {
    hashed =
      knownFiles !== undefined
        ? { files: knownFiles, recipeText: knownFiles[recipeFile]?.startsWith('link:') === false ? readFileSync(`${dir}/${recipeFile}`, 'utf8') : undefined }
        : hashDirectory(dir, recipeFile);
  } catch (error) {
    return {
      id: dirName as Recipe['id'],
      file: displayFile,
      diagnostics: [{ severity: 'error', file: displayFile, message: `cannot read the recipe directory (${(error as NodeJS.ErrnoException).code ?? String(error)})`, hint: 'check the permissions of the recipe directory' }],
    };
  }
  return parser.parse({ dirName, dir, displayRoot, displayFile, text: hashed.recipeText, files: hashed.files });
}

/**
 * Options of the reads of every directory and file of a tree, made once: Node copies an encoding
 * given as a string into a new options object at each call (thousands per plan).
 */
const WITH_FILE_TYPES = { withFileTypes: true } as const;
const AS_UTF8 = { encoding: 'utf8' } as const;

/** sha256 (hex) of a file's bytes, or of a string's UTF-8 encoding. */
const sha256 = (data: Buffer | string): string => crypto.hash('sha256', data, 'hex');

/** sha256 of every file under `dir` (links by their target), and the text of its `recipeFile`. */
export function hashDirectory(dir: string, recipeFile: string): { files: Record<string, string>; recipeText: string | undefined } {
  const files: Record<string, string> = {};
  let recipeText: string | undefined;
  const walk = (abs: string, rel: string): void => {
    const entries = readdirSync(abs, WITH_FILE_TYPES);
    if (entries.length > 1) entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
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
          recipeText = readFileSync(entryAbs, AS_UTF8);
          files[entryRel] = sha256(recipeText.includes('\uFFFD') ? readFileSync(entryAbs) : recipeText);
        } else files[entryRel] = sha256(readFileSync(entryAbs));
      }
    }
  };
  walk(dir, '');
  return { files, recipeText };
}
