/**
 * The `freebsd-index` source format: a ports `INDEX` file, one port per line in
 * 13 `|`-separated fields (pkgname, path, prefix, comment, descr, maintainer,
 * categories, build-deps, run-deps, www, extract-deps, patch-deps, fetch-deps).
 *
 * Each line is a recipe whose id is the port's origin (`category/port`, the last
 * two components of the path field, so an INDEX made under any PORTSDIR reads
 * the same) and whose package name is the pkgname without its version.
 * Dependencies are written as pkgnames with versions (`gettext-0.19.8.1`); each
 * resolves to the origin of the INDEX line with that pkgname (the graph is built
 * with `resolveIds`). A dependency no line has stays as written, and the graph
 * finds nothing that provides it: the port is skipped as `unresolvable`. Two
 * origins with the same package name (conflicting ports such as two ruby
 * versions) cannot share a repository, which is keyed by package name: the one
 * more lines depend on is kept (then the higher version, then the earlier
 * line), the others are invalid recipes saying which was kept and why.
 *
 * Fingerprints: the fields of the line that shape the package (pkgname, prefix,
 * comment, maintainer, categories, www; not the dependency fields, which are
 * closures — dependencies enter through their own fingerprints as the rebuild
 * policy says), plus every file of the port's directory when the tree holds it.
 * Port directories are only looked for under categories the tree has, so an INDEX
 * without a tree (or a tree with a few ports) costs one directory listing per
 * category.
 */
import crypto from 'node:crypto';
import { isAscii, isUtf8 } from 'node:buffer';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { quoteShort } from '../config/diagnostic.js';
import { MAX_NAME_LENGTH, MAX_VERSION_LENGTH, PACKAGE_NAME_PATTERN, type InvalidRecipe, type PackageName, type Recipe, type RecipeId, type SourceSnapshot, type Version } from '../model/types.js';
import { compareFreebsdVersions, splitFreebsdVersion } from '../version/freebsd.js';
import { hashDirectory } from './nativeRecipes.js';
import { SubstringMap } from './substringMap.js';

export const INDEX_FIELDS = 13;

/** The dependency fields of an INDEX line: build, run, extract, patch, fetch. */
const DEPENDENCY_FIELDS = [7, 8, 10, 11, 12] as const;
/** The dependency fields besides run-deps (8): build, extract, patch, fetch. */
const BUILD_FIELDS = [7, 10, 11, 12] as const;

/** The version of a PKGNAME (`version[_revision][,epoch]`). */
const FREEBSD_VERSION_PATTERN = new RegExp(`^[A-Za-z0-9._+~,]{1,${MAX_VERSION_LENGTH}}$`);

/** The key under which the INDEX line's digest is kept among a recipe's files. */
export const INDEX_LINE_KEY = '(INDEX)';

export interface ReadFreebsdIndexOptions {
  /** Absolute path of the ports tree (port directories `<category>/<port>`). */
  readonly root: string;
  /** Absolute path of the INDEX file (`.gz`: read uncompressed). */
  readonly indexFile: string;
  /** How the INDEX is shown in diagnostics (relative to the config directory). */
  readonly displayIndex: string;
  /** Origins that are duds: they never build, so their package name may be another port's. */
  readonly dudOrigins?: ReadonlySet<string>;
}

/** A source snapshot, and where each recipe's line is (for located diagnostics). */
export interface FreebsdIndexSnapshot extends SourceSnapshot {
  /** Where a recipe's line names a dependency (line and column), for diagnostics. */
  locate(recipe: Recipe, dependency: string): { line: number; col: number } | undefined;
}

export function readFreebsdIndex(options: ReadFreebsdIndexOptions): FreebsdIndexSnapshot {
  let data: Buffer;
  try {
    data = readFileSync(options.indexFile);
    if (options.indexFile.endsWith('.gz')) data = gunzipSync(data);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      recipes: [],
      invalid: [],
      diagnostics: [
        {
          severity: 'error',
          file: options.displayIndex,
          message: code === 'ENOENT' ? 'the INDEX file does not exist' : `cannot read the INDEX file (${code ?? (error as Error).message})`,
          hint:
            code === 'ENOENT'
              ? 'run `make index` in the ports tree (reconcile runs the branch\'s indexCommand when one is set; plan never does), or correct source.index'
              : 'check the file permissions; a .gz INDEX must be gzip data',
        },
      ],
      locate: () => undefined,
    };
  }
  return parseFreebsdIndex(data, {
    root: options.root,
    displayIndex: options.displayIndex,
    portFiles: portFilesReader(options.root),
    ...(options.dudOrigins !== undefined ? { dudOrigins: options.dudOrigins } : {}),
  });
}

export interface ParseFreebsdIndexOptions {
  readonly root: string;
  readonly displayIndex: string;
  /** Digests of the files of a port's directory, or undefined when the tree does not hold it. */
  readonly portFiles?: (origin: string) => Record<string, string> | undefined;
  /** Origins that are duds: they never build, so their package name may be another port's. */
  readonly dudOrigins?: ReadonlySet<string>;
}

/**
 * Where the fields of the line `bytes[start, end)` are: field f is `[starts[f], ends[f])` for
 * f < INDEX_FIELDS. Returns the number of fields.
 */
function fieldBounds(bytes: Uint8Array, start: number, end: number, starts: Int32Array, ends: Int32Array): number {
  let count = 0;
  let from = start;
  for (let i = start; i < end; i++) {
    if (bytes[i] !== 124 /* | */) continue;
    if (count < INDEX_FIELDS) {
      starts[count] = from;
      ends[count] = i;
    }
    count++;
    from = i + 1;
  }
  if (count < INDEX_FIELDS) {
    starts[count] = from;
    ends[count] = end;
  }
  return count + 1;
}

/**
 * What the recipes of an INDEX read when asked: their dependency lists (the interned specs, as
 * `InternedDependencies` has them, and where each port's run dependencies end), their comments
 * (bounds in the INDEX's bytes) and the tree's directory.
 */
interface IndexTable {
  table: readonly string[];
  specs: Int32Array;
  readonly starts: Int32Array;
  readonly dependsEnds: Int32Array;
  /** Per recipe, where its comment field starts and ends in the bytes (`2 * index`, `2 * index + 1`). */
  readonly comments: Int32Array;
  /** The text of `bytes[start, end)` of the INDEX. */
  readonly text: (start: number, end: number) => string;
  /** The tree's directory with a final '/': a port's directory is this and its origin. */
  readonly rootDir: string;
}

/** Recipes of an INDEX provide nothing but their package: one empty list for all. */
const NO_PROVIDES: readonly string[] = Object.freeze([]);

/**
 * A recipe of an INDEX line. What a plan reads of every port only once, or not at all, is made
 * when read rather than kept: its dependency lists (a plan hands the graph the interned specs
 * instead; 35,000 ports name about 950,000 dependencies), its description and directory (made
 * once), and its package list and file digests (made at each read, for the graph, the
 * fingerprints and the planner to use and drop). Every object a port keeps is one more for the
 * garbage collector to move about: for the dependency lists alone that was some 50 ms of a plan.
 */
class IndexRecipe implements Recipe {
  readonly provides = NO_PROVIDES;
  readonly #table: IndexTable;
  readonly #index: number;
  readonly #digest: string;
  readonly #portFiles: Readonly<Record<string, string>> | undefined;
  #depends: readonly string[] | undefined;
  #buildDepends: readonly string[] | undefined;
  #description: string | undefined;

  constructor(
    readonly id: RecipeId,
    readonly name: PackageName,
    readonly version: Version,
    readonly file: string,
    digest: string,
    portFiles: Readonly<Record<string, string>> | undefined,
    table: IndexTable,
    index: number,
  ) {
    this.#digest = digest;
    this.#portFiles = portFiles;
    this.#table = table;
    this.#index = index;
  }

  /** Its one package (a new list at each read). */
  get packages(): readonly PackageName[] {
    return [this.name];
  }

  /** The digest of its line's shaping fields, and of each file of its port directory when the tree has one (a new record at each read). */
  get files(): Readonly<Record<string, string>> {
    const files: Record<string, string> = { [INDEX_LINE_KEY]: this.#digest };
    if (this.#portFiles !== undefined) Object.assign(files, this.#portFiles);
    return files;
  }

  get depends(): readonly string[] {
    return (this.#depends ??= this.#spell(this.#table.starts[this.#index]!, this.#table.dependsEnds[this.#index]!));
  }

  get buildDepends(): readonly string[] {
    return (this.#buildDepends ??= this.#spell(this.#table.dependsEnds[this.#index]!, this.#table.starts[this.#index + 1]!));
  }

  /** The comment field; undefined when it is empty. */
  get description(): string | undefined {
    const start = this.#table.comments[2 * this.#index]!;
    const end = this.#table.comments[2 * this.#index + 1]!;
    return end > start ? (this.#description ??= this.#table.text(start, end)) : undefined;
  }

  get dir(): string {
    return `${this.#table.rootDir}${this.id}`;
  }

  #spell(from: number, to: number): readonly string[] {
    const { table, specs } = this.#table;
    return Array.from(specs.subarray(from, to), (t) => table[t]!);
  }
}

/** The fields of an INDEX line that shape the package besides its version and dependencies (their digest is the line's): pkgname, prefix, comment, maintainer, categories, www. */
const SHAPING_FIELDS = [0, 2, 3, 5, 6, 9] as const;

/**
 * Parses an INDEX (its text, or its bytes as UTF-8) into recipes; one line's problem makes only
 * that port invalid.
 *
 * The bytes are scanned as they are, and each string the recipes keep is made from its own bytes:
 * no string of the whole text is made (an INDEX of 35,000 ports is 18 MB, and on a virtual machine
 * each new page of memory costs time). Bytes that are not UTF-8 are read as the text decoder
 * reads them (U+FFFD), as if the text had been decoded first.
 */
export function parseFreebsdIndex(input: string | Uint8Array, options: ParseFreebsdIndexOptions): FreebsdIndexSnapshot {
  let bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const ascii = isAscii(bytes);
  if (!ascii && !isUtf8(bytes)) bytes = Buffer.from(bytes.toString('utf8'), 'utf8');
  const encoding = ascii ? 'latin1' : 'utf8';
  /** The text of `bytes[start, end)`. */
  const str = (start: number, end: number): string => bytes.toString(encoding, start, end);
  // Lines and fields are byte offsets: a field becomes a string only when it is used.
  const starts = new Int32Array(INDEX_FIELDS);
  const ends = new Int32Array(INDEX_FIELDS);
  const field = (f: number): string => str(starts[f]!, ends[f]!);
  /** A line's digest: of its shaping fields joined by '|' (as UTF-8, as the string `a|b|…` hashes). */
  let scratch = Buffer.allocUnsafe(4096);
  const lineDigest = (): string => {
    // Indexed loops: a for-of over an array makes an iterator result per element until V8 optimizes the loop.
    let length = 0;
    for (let k = 0; k < SHAPING_FIELDS.length; k++) length += ends[SHAPING_FIELDS[k]!]! - starts[SHAPING_FIELDS[k]!]! + 1;
    if (length > scratch.length) scratch = Buffer.allocUnsafe(length * 2);
    let at = 0;
    for (let k = 0; k < SHAPING_FIELDS.length; k++) {
      const f = SHAPING_FIELDS[k]!;
      if (k > 0) scratch[at++] = 124; // |
      // Fields are short: a loop costs less than a copy call each.
      for (let i = starts[f]!, end = ends[f]!; i < end; i++) scratch[at++] = bytes[i]!;
    }
    return crypto.hash('sha256', scratch.subarray(0, at), 'hex');
  };
  const display = options.displayIndex;
  /** The tree's directory with a final '/': a port's directory is this and its origin (as path.join makes it). */
  const rootDir = path.join(options.root, '/');
  const invalid: InvalidRecipe[] = [];
  const bad = (id: string, line: number, col: number, message: string, hint: string): void => {
    invalid.push({ id: id as RecipeId, file: display, diagnostics: [{ severity: 'error', file: display, line, col, message, hint }] });
  };

  // Pass 1: fields, origin, name and version of each line; pkgname -> origin. What pass 2 needs of
  // each line taken is kept in columns (an object per line was 35,000 more for the garbage collector
  // to move): line p's pkgname is pkgnameOf[p], and so on.
  const pkgnameOf: string[] = [];
  const originOf: string[] = [];
  const nameOf: string[] = [];
  /** The version part of each pkgname (after its last '-'). */
  const versionTextOf: string[] = [];
  /** Line numbers, and where each line is in the bytes. */
  const lineNoOf: number[] = [];
  const lineStartOf: number[] = [];
  const lineEndOf: number[] = [];
  /** Where each line's comment field is in the bytes: `2 * p`, `2 * p + 1`. */
  const commentOf: number[] = [];
  /** The digest of each line's shaping fields. */
  const digestOf: string[] = [];
  /**
   * The bounds of each taken line's dependency fields, as `fieldBounds` found them (pass 2 reads
   * them, not the bytes). Sized for lines of about 400 bytes (the real INDEX-11 averages 630, the
   * synthetic one 540); shorter lines grow it.
   */
  let bounds = new Int32Array(2 * DEPENDENCY_FIELDS.length * Math.max(4096, Math.ceil(bytes.length / 400)));
  let boundsUsed = 0;
  /** Every origin a pkgname resolves to, once; dependencies are resolved to indexes into it. */
  const origins: string[] = [];
  const originIndex = new Map<string, number>();
  /** Per origin (its index), the line taken for it; 0 while none is (the origin of a bad line). */
  const lineOfIndex: number[] = [];
  const intern = (origin: string): number => {
    let index = originIndex.get(origin);
    if (index === undefined) {
      index = origins.push(origin) - 1;
      lineOfIndex.push(0);
      originIndex.set(origin, index);
    }
    return index;
  };
  /** The line taken for an origin. */
  const lineOf = (origin: string): number | undefined => {
    const index = originIndex.get(origin);
    const line = index === undefined ? 0 : lineOfIndex[index]!;
    return line > 0 ? line : undefined;
  };
  /**
   * pkgname (with version) -> index of its origin in `origins`; keyed by the pkgname's bytes, taken
   * from the line (no string per key to encode again), and looked up by each dependency word.
   */
  const pkgnames = new SubstringMap(Math.max(1024, bytes.length >> 9));
  /** Package name (its bytes) -> the first line (not a dud) that makes it, as its index in the columns. */
  const firstOfName = new SubstringMap(Math.max(1024, bytes.length >> 9));
  /** Package name -> the lines (not duds) that make it, when more than one does. */
  const sameName = new Map<string, number[]>();
  // Dependents of a bad line name it by its pkgname (field 0 of the line being read): they are then
  // skipped as dependency-skipped. (Called as the line turns out bad; a good line registers its
  // pkgname when it is taken.)
  const registerBad = (origin: string | undefined): void => {
    if (origin !== undefined && pkgnames.get(bytes, starts[0]!, ends[0]!) === undefined && lineOf(origin) === undefined) pkgnames.setRange(bytes, starts[0]!, ends[0]!, intern(origin));
  };
  for (let start = 0, line = 1; start < bytes.length; line++) {
    let end = bytes.indexOf(10 /* \n */, start);
    if (end < 0) end = bytes.length;
    const lineStart = start;
    start = end + 1;
    if (end === lineStart || (end === lineStart + 1 && bytes[lineStart] === 13 /* \r */)) continue;
    const fieldCount = fieldBounds(bytes, lineStart, end, starts, ends);
    const pkgname = field(0);
    // The origin is read from the path field's bytes: one string, no slices of the path.
    const originStart = fieldCount > 1 ? originStartOf(bytes, starts[1]!, ends[1]!) : -1;
    const origin = originStart >= 0 ? str(originStart, originEnd(bytes, starts[1]!, ends[1]!)) : undefined;
    if (fieldCount !== INDEX_FIELDS) {
      registerBad(origin);
      bad(origin ?? `${display}:${line}`, line, 1, `an INDEX line has ${INDEX_FIELDS} |-separated fields, this one has ${fieldCount}`, 'regenerate the INDEX (`make index`) or fix the line');
      continue;
    }
    if (origin === undefined) {
      bad(`${display}:${line}`, line, pkgname.length + 2, `the path field ${quoteShort(field(1))} does not end in category/port`, 'regenerate the INDEX (`make index`) or fix the path field');
      continue;
    }
    const dash = pkgname.lastIndexOf('-');
    const name = dash > 0 ? pkgname.slice(0, dash) : '';
    if (name === '' || dash === pkgname.length - 1 || !PACKAGE_NAME_PATTERN.test(name)) {
      registerBad(origin);
      bad(origin, line, 1, `${quoteShort(pkgname)} is not a package name followed by -version`, `the first field is PKGNAME, e.g. gettext-0.19.8.1, with a name of at most ${MAX_NAME_LENGTH} characters: regenerate the INDEX or fix the line`);
      continue;
    }
    // The version names log and package files: no '/', no shell characters, no control bytes.
    const versionText = pkgname.slice(dash + 1);
    if (!FREEBSD_VERSION_PATTERN.test(versionText)) {
      registerBad(origin);
      bad(
        origin,
        line,
        dash + 2,
        `${quoteShort(versionText)} is not a version`,
        `a FreeBSD version uses letters, digits and ._+~, with _REVISION and ,EPOCH (e.g. 1.0_1,1), at most ${MAX_VERSION_LENGTH} characters: regenerate the INDEX or fix the line`,
      );
      continue;
    }
    // One lookup of the origin: its index, and the line taken for it when there is one already.
    const index = intern(origin);
    const first = lineOfIndex[index]!;
    if (first > 0) {
      // (A line taken for the origin has registered the pkgname: registerBad would add nothing.)
      bad(`${origin}@${line}`, line, pkgname.length + 2, `origin ${origin} is listed twice (first at line ${first})`, 'keep one line per port');
      continue;
    }
    lineOfIndex[index] = line;
    pkgnames.setRange(bytes, starts[0]!, ends[0]!, index);
    if (boundsUsed + 2 * DEPENDENCY_FIELDS.length > bounds.length) {
      const grown = new Int32Array(bounds.length * 2);
      grown.set(bounds);
      bounds = grown;
    }
    // What pass 2 needs of the other fields is taken now: where the comment is, and the shaping fields' digest.
    const taken = pkgnameOf.push(pkgname) - 1;
    originOf.push(origin);
    nameOf.push(name);
    versionTextOf.push(versionText);
    lineNoOf.push(line);
    lineStartOf.push(lineStart);
    lineEndOf.push(end);
    commentOf.push(starts[3]!, ends[3]!);
    digestOf.push(lineDigest());
    for (let k = 0; k < DEPENDENCY_FIELDS.length; k++) {
      bounds[boundsUsed + k] = starts[DEPENDENCY_FIELDS[k]!]!;
      bounds[boundsUsed + DEPENDENCY_FIELDS.length + k] = ends[DEPENDENCY_FIELDS[k]!]!;
    }
    boundsUsed += 2 * DEPENDENCY_FIELDS.length;
    // Duds never build, so their package name may be another port's.
    if (options.dudOrigins?.has(origin) !== true) {
      // The name is ASCII (PACKAGE_NAME_PATTERN), so it is the first name.length bytes of field 0.
      const firstAt = firstOfName.addOrGet(bytes, starts[0]!, starts[0]! + name.length, taken);
      if (firstAt !== -1) {
        const same = sameName.get(name);
        if (same === undefined) sameName.set(name, [firstAt, taken]);
        else same.push(taken);
      }
    }
  }
  /** The lines taken for pass 2, by their index in the columns. */
  let kept: readonly number[] | undefined;
  if (sameName.size > 0) {
    // Ports that make the same package name (rare): the lines as objects, for the choice and its messages.
    const lineAt = (p: number) => ({ p, pkgname: pkgnameOf[p]!, origin: originOf[p]!, name: nameOf[p]!, line: lineNoOf[p]! });
    const losers = conflictLosers(
      [...sameName.values()].map((group) => group.map(lineAt)),
      pkgnameOf.map((_, p) => lineAt(p)),
      (entry) => str(lineStartOf[entry.p]!, lineEndOf[entry.p]!).split('|'),
    );
    for (const [entry, { kept: winner, why }] of losers) {
      bad(
        entry.origin,
        entry.line,
        1,
        `package name ${entry.name} is also the package of ${winner.origin} (line ${winner.line}), which is built instead: ${why}`,
        `a repository holds one package per name: make ${entry.origin} a dud to keep ${winner.origin}, or make ${winner.origin} a dud to build ${entry.origin}`,
      );
    }
    const lost = new Set([...losers.keys()].map((entry) => entry.p));
    kept = pkgnameOf.map((_, p) => p).filter((p) => !lost.has(p));
    invalid.sort((a, b) => (a.diagnostics[0]?.line ?? 0) - (b.diagnostics[0]?.line ?? 0));
  }
  const recipeCount = kept?.length ?? pkgnameOf.length;

  // Pass 2: dependencies resolved to origins; unknown pkgnames stay as written (unresolvable).
  // Each is also handed to the graph as its index in `origins` (then the unknown ones), so that
  // the graph resolves each distinct dependency once rather than each of the ~27 per line.
  const recipes: Recipe[] = [];
  const versionsByText = new Map<string, Version>();
  // Sized for a spec per 32 bytes of INDEX (the real INDEX-11 and the synthetic one have one per 35–40): grown by doubling past that.
  let specs = new Int32Array(Math.max(1024, bytes.length >> 5));
  let specCount = 0;
  const specStarts = new Int32Array(recipeCount + 1);
  /** Per port, where its run dependencies end in `specs` (its build dependencies follow). */
  const dependsEnds = new Int32Array(recipeCount);
  /** What the recipes read when asked: the table and specs are set once every line is read. */
  const lazy: IndexTable = { table: [], specs, starts: specStarts, dependsEnds, comments: new Int32Array(2 * recipeCount), text: str, rootDir };
  /** Dependencies no line has, as written, of every port; table index `origins.length + k`. */
  const unknowns: string[] = [];
  const unknownIndex = new Map<string, number>();
  /** `seenAt[o] === stamp` while one port's dependencies are collected: origin o is among them. */
  const seenAt = new Int32Array(origins.length);
  let stamp = 0;
  /** Dependencies no line has, as written, of the port being read. */
  const unknown: string[] = [];
  /** Appends a table index to the port's dependencies (depends, then buildDepends). */
  const pushSpec = (t: number): void => {
    if (specCount === specs.length) {
      const grown = new Int32Array(specs.length * 2);
      grown.set(specs);
      specs = grown;
    }
    specs[specCount++] = t;
  };
  /** Adds the dependencies of field f (space-separated pkgnames) to the port's specs. */
  const resolve = (f: number): void => {
    const end = ends[f]!;
    for (let from = starts[f]!; from < end; ) {
      // A dependency word resolves to the origin of the line with that pkgname, else of that origin.
      let target = pkgnames.getWord(bytes, from, end, 32 /* space */);
      const space = pkgnames.wordEnd;
      if (space > from) {
        const dep = target === -1 ? str(from, space) : '';
        if (target === -1) target = originIndex.get(dep) ?? -1;
        if (target === -1) {
          if (!unknown.includes(dep)) {
            unknown.push(dep);
            let k = unknownIndex.get(dep);
            if (k === undefined) {
              k = origins.length + unknowns.push(dep) - 1;
              unknownIndex.set(dep, k);
            }
            pushSpec(k);
          }
        } else if (seenAt[target] !== stamp) {
          seenAt[target] = stamp;
          pushSpec(target);
        }
      }
      from = space + 1;
    }
  };
  for (let r = 0; r < recipeCount; r++) {
    const p = kept !== undefined ? kept[r]! : r;
    const origin = originOf[p]!;
    const name = nameOf[p]!;
    const at = p * 2 * DEPENDENCY_FIELDS.length;
    specStarts[recipes.length] = specCount;
    stamp++;
    unknown.length = 0;
    for (let k = 0; k < DEPENDENCY_FIELDS.length; k++) {
      starts[DEPENDENCY_FIELDS[k]!] = bounds[at + k]!;
      ends[DEPENDENCY_FIELDS[k]!] = bounds[at + DEPENDENCY_FIELDS.length + k]!;
    }
    // A run dependency that is also a build dependency is listed once, as a run dependency.
    resolve(8);
    dependsEnds[recipes.length] = specCount;
    for (let k = 0; k < BUILD_FIELDS.length; k++) resolve(BUILD_FIELDS[k]!);
    // What shapes the package besides its version and dependencies: the line's digest, and the port's files.
    const portFiles = options.portFiles?.(origin);
    // Ports that have the same version share its (read-only) Version: an INDEX repeats versions
    // (INDEX-11: 615 for 975 ports), and an object per port was one more for the garbage collector.
    const versionText = versionTextOf[p]!;
    let version = versionsByText.get(versionText);
    if (version === undefined) {
      const parts = splitFreebsdVersion(versionText);
      version =
        parts.epoch !== 0
          ? { version: parts.version, release: String(parts.revision), epoch: String(parts.epoch), scheme: 'freebsd' }
          : { version: parts.version, release: String(parts.revision), scheme: 'freebsd' };
      versionsByText.set(versionText, version);
    }
    lazy.comments[2 * recipes.length] = commentOf[2 * p]!;
    lazy.comments[2 * recipes.length + 1] = commentOf[2 * p + 1]!;
    recipes.push(new IndexRecipe(origin as RecipeId, name as PackageName, version, display, digestOf[p]!, portFiles, lazy, recipes.length));
  }

  specStarts[recipes.length] = specCount;
  lazy.table = unknowns.length > 0 ? [...origins, ...unknowns] : origins;
  lazy.specs = specs.subarray(0, specCount);
  /** The lines of the text, for `locate` (diagnostics only). */
  let lines: string[] | undefined;
  return {
    recipes,
    invalid,
    diagnostics: [],
    interned: { table: lazy.table, specs: lazy.specs, starts: specStarts },
    locate: (recipe, dependency) => {
      const line = lineOf(recipe.id);
      if (line === undefined) return undefined;
      lines ??= textLines(bytes.toString('utf8'));
      const lineText = lines[line - 1]!;
      // The dependency as written (a pkgname): find it as a whole word in a dependency field.
      const fields = lineText.split('|');
      let offset = 0;
      for (let f = 0; f < fields.length; f++) {
        if (f >= 7 && f !== 9) {
          const words = fields[f]!.split(' ');
          let at = 0;
          for (const word of words) {
            if (word === dependency || origins[pkgnames.getString(word) ?? -1] === dependency) return { line, col: offset + at + 1 };
            at += word.length + 1;
          }
        }
        offset += fields[f]!.length + 1;
      }
      return { line, col: 1 };
    },
  };
}

/**
 * Among ports that make the same package name (conflicting ports such as two
 * ruby versions; a repository holds one package per name), the one kept is the
 * one most other lines of the INDEX depend on (the INDEX was generated with the
 * tree's default versions, so that is the default), then the one with the
 * highest version, then the earliest line. Returns every other port, with the
 * kept one and why it was kept.
 */
function conflictLosers<T extends { readonly pkgname: string; readonly line: number }>(
  groups: readonly (readonly T[])[],
  all: readonly T[],
  fieldsOf: (entry: T) => readonly string[],
): Map<T, { readonly kept: T; readonly why: string }> {
  const losers = new Map<T, { readonly kept: T; readonly why: string }>();
  if (groups.length === 0) return losers;
  // Lines naming each contested pkgname in a dependency field (an INDEX line lists closures, once each).
  const dependents = new Map<string, number>();
  for (const group of groups) for (const entry of group) dependents.set(entry.pkgname, 0);
  for (const entry of all) {
    const named = new Set<string>();
    const fields = fieldsOf(entry);
    for (const f of DEPENDENCY_FIELDS) {
      const field = fields[f]!;
      if (field === '') continue;
      for (const dep of field.split(' ')) if (dependents.has(dep) && dep !== entry.pkgname) named.add(dep);
    }
    for (const dep of named) dependents.set(dep, dependents.get(dep)! + 1);
  }
  const count = (entry: T): number => dependents.get(entry.pkgname)!;
  const depend = (n: number): string => (n === 1 ? '1 port depends' : `${n} ports depend`);
  for (const group of groups) {
    const ranked = [...group].sort((a, b) => count(b) - count(a) || compareFreebsdVersions(b.pkgname, a.pkgname) || a.line - b.line);
    const kept = ranked[0]!;
    for (const entry of ranked.slice(1)) {
      const why =
        count(kept) !== count(entry)
          ? `${depend(count(kept))} on it, ${count(entry)} on this one`
          : compareFreebsdVersions(kept.pkgname, entry.pkgname) !== 0
            ? `it has the higher version (${depend(count(kept))} on each)`
            : 'it comes first (same version and dependents)';
      losers.set(entry, { kept, why });
    }
  }
  return losers;
}

/** The lines of a text as `split('\n')` gives them, without the empty one after a final newline. */
function textLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Where the path field `bytes[start, end)` ends without its final '/' (one, if any). */
function originEnd(bytes: Uint8Array, start: number, end: number): number {
  return end > start && bytes[end - 1] === 47 /* / */ ? end - 1 : end;
}

/**
 * Where the origin starts in the path field `bytes[start, end)` (`/usr/ports/devel/gettext/` →
 * `devel/gettext`, which ends at `originEnd`), or -1 when the path has no two last components
 * that are both package names (PACKAGE_NAME_PATTERN, checked on the bytes).
 */
function originStartOf(bytes: Uint8Array, start: number, end: number): number {
  end = originEnd(bytes, start, end);
  let slash = end - 1;
  while (slash >= start && bytes[slash] !== 47) slash--;
  if (slash <= start) return -1;
  let before = slash - 1;
  while (before >= start && bytes[before] !== 47) before--;
  return isNameBytes(bytes, before + 1, slash) && isNameBytes(bytes, slash + 1, end) ? before + 1 : -1;
}

/** Whether `bytes[start, end)` is a package name as PACKAGE_NAME_PATTERN says: `[A-Za-z0-9][A-Za-z0-9@._+-]*`, at most MAX_NAME_LENGTH bytes. */
function isNameBytes(bytes: Uint8Array, start: number, end: number): boolean {
  if (end <= start || end - start > MAX_NAME_LENGTH) return false;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    const alnum = (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122);
    if (!alnum && (i === start || (b !== 64 /* @ */ && b !== 46 /* . */ && b !== 95 /* _ */ && b !== 43 /* + */ && b !== 45) /* - */)) return false;
  }
  return true;
}

/**
 * Digests of a port directory's files, for the ports the tree holds: each
 * category is listed once, on first use; a port whose directory is absent gets
 * undefined (its fingerprint then covers its INDEX line only).
 */
function portFilesReader(root: string): (origin: string) => Record<string, string> | undefined {
  let categories: Set<string> | undefined;
  const ports = new Map<string, Set<string>>();
  const list = (dir: string): Set<string> => {
    try {
      return new Set(
        readdirSync(dir, { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => e.name),
      );
    } catch {
      return new Set();
    }
  };
  return (origin) => {
    categories ??= list(root);
    // An INDEX without its tree (a tree not checked out here): nothing to list per port.
    if (categories.size === 0) return undefined;
    const slash = origin.indexOf('/');
    const category = origin.slice(0, slash);
    if (!categories.has(category)) return undefined;
    let inCategory = ports.get(category);
    if (inCategory === undefined) {
      inCategory = list(path.join(root, category));
      ports.set(category, inCategory);
    }
    if (!inCategory.has(origin.slice(slash + 1))) return undefined;
    return hashDirectory(path.join(root, origin)).files;
  };
}
