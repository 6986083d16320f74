/**
 * Parsing one `.SRCINFO` (what `makepkg --printsrcinfo` writes) into a recipe for
 * one architecture. Pure apart from nothing: text in, recipe or located
 * diagnostics out.
 *
 * The file is a `pkgbase = …` section of global fields followed by one
 * `pkgname = …` section per package. A field a package section sets (even to
 * nothing: `depends = `) replaces the global one for that package; fields are
 * overridden one name at a time, so `depends` and `depends_x86_64` are
 * separate. For architecture `A`, a package's dependencies are `depends` plus
 * `depends_A` (likewise `provides`, `makedepends`, `checkdepends`). A package
 * whose `arch` holds neither `A` nor `any` is not built; a pkgbase with no
 * package left is a recipe that is not for this architecture.
 */
import { quoteShort, type Diagnostic } from '../config/diagnostic.js';
import { dependencyName } from '../model/graph.js';
import { MAX_EPOCH_LENGTH, MAX_NAME_LENGTH, MAX_RELEASE_LENGTH, MAX_VERSION_LENGTH, PACKAGE_NAME_PATTERN, VERSION_PART_PATTERN, type InvalidRecipe, type PackageName, type Recipe, type RecipeId } from '../model/types.js';

export const SRCINFO_FILE = '.SRCINFO';

export interface SrcinfoInput {
  /** The pkgbase directory's name (the recipe id). */
  readonly dirName: string;
  /** Absolute path of the directory. */
  readonly dir: string;
  /** The .SRCINFO as shown in diagnostics. */
  readonly displayFile: string;
  readonly text: string;
  /** sha256 of every file of the directory. */
  readonly files: Readonly<Record<string, string>>;
  /** The branch's architecture (`x86_64`, `aarch64`, …). */
  readonly architecture: string;
}

/** One package of a parsed .SRCINFO, its fields resolved for the architecture. */
export interface SrcinfoPackage {
  readonly name: string;
  readonly description?: string;
  readonly arch: readonly string[];
  readonly depends: readonly string[];
  readonly provides: readonly string[];
  /** Whether `arch` holds the branch's architecture or `any`. */
  readonly built: boolean;
}

/** A .SRCINFO as written: global fields, then each package's own. Values by field name, in order. */
export interface SrcinfoSections {
  readonly pkgbase: string;
  readonly global: ReadonlyMap<string, readonly string[]>;
  readonly packages: readonly { readonly name: string; readonly line: number; readonly fields: ReadonlyMap<string, readonly string[]> }[];
}

const SINGLE_VALUED = new Set(['pkgver', 'pkgrel', 'epoch', 'pkgbase']);

const TAB = 9;
const SPACE = 32;
const CR = 13;
const HASH = 35;

/** The field names makepkg writes (those of its architecture-specific fields aside): read without a pattern match. */
const FIELD_NAMES = new Set(['pkgbase', 'pkgname', 'pkgver', 'pkgrel', 'epoch', 'pkgdesc', 'url', 'install', 'changelog', 'arch', 'groups', 'license', 'noextract', 'options', 'backup', 'validpgpkeys', 'source', 'depends', 'makedepends', 'checkdepends', 'optdepends', 'provides', 'conflicts', 'replaces', 'md5sums', 'sha1sums', 'sha224sums', 'sha256sums', 'sha384sums', 'sha512sums', 'b2sums', 'cksums']);
const FIELD_NAME_PATTERN = /^[A-Za-z0-9_]+$/;

const KEY_VALUE_HINT = 'regenerate the file with `makepkg --printsrcinfo > .SRCINFO`';
const BEFORE_PKGBASE_HINT = 'a .SRCINFO starts with "pkgbase = NAME"; regenerate it with `makepkg --printsrcinfo > .SRCINFO`';

/**
 * Splits a .SRCINFO into sections; errors are located at their line.
 *
 * Lines end at `\n` only. On each line: leading tabs and spaces (makepkg indents fields with a
 * tab) and trailing spaces, tabs and `\r` are not part of it; a blank line or one starting with
 * `#` is skipped; any other is a field name (letters, digits and `_`), spaces, the first `=`,
 * spaces, and the value (possibly empty; other whitespace, U+2028 and U+2029 included, is kept).
 *
 * The text is read in place: a line is found by searching for its end and its `=`, with no string
 * made for the line, only the field's name and value. A plan reads each .SRCINFO once, mostly
 * before V8 has optimized this function, so it looks at as few characters one by one as it can
 * and leaves the searching to native string functions.
 *
 * `keep`: the fields to keep (default: all). The others are read and checked alike but not kept;
 * pkgbase, pkgname, pkgver, pkgrel and epoch are always kept.
 */
export function splitSrcinfo(text: string, displayFile: string, keep?: ReadonlySet<string>): { sections?: SrcinfoSections; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const error = (line: number, col: number, message: string, hint: string): void => {
    diagnostics.push({ severity: 'error', file: displayFile, line, col, message, hint });
  };
  let pkgbase: string | undefined;
  const global = new Map<string, string[]>();
  const packages: { name: string; line: number; fields: Map<string, string[]> }[] = [];
  let current: Map<string, string[]> | undefined;
  const length = text.length;
  let lineNo = 0;
  // The first "=" at or after the current line's start (length: none left); searched again only once passed, so that lines without one cost no search to the end.
  let nextEquals = -1;
  // A text that ends with a newline has a last, empty line: blank, skipped.
  for (let start = 0, next = 0; start <= length; start = next) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = length;
    next = end + 1;
    lineNo++;
    // Every character read is within the line: a read past the text's end would make V8 throw its optimized code away.
    let i = start;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c !== TAB && c !== SPACE) break;
      i++;
    }
    if (i === end || text.charCodeAt(i) === HASH) continue;
    let j = end;
    while (j > i) {
      const d = text.charCodeAt(j - 1);
      if (d !== SPACE && d !== TAB && d !== CR) break;
      j--;
    }
    if (j === i) continue;
    const col = i - start + 1;
    if (nextEquals < i) {
      nextEquals = text.indexOf('=', i);
      if (nextEquals < 0) nextEquals = length;
    }
    const eq = nextEquals;
    if (eq >= j) {
      error(lineNo, col, `expected "key = value", found ${quoteShort(text.slice(i, j))}`, KEY_VALUE_HINT);
      continue;
    }
    let keyEnd = eq;
    while (keyEnd > i && text.charCodeAt(keyEnd - 1) === SPACE) keyEnd--;
    const key = text.slice(i, keyEnd);
    if (!FIELD_NAMES.has(key) && !FIELD_NAME_PATTERN.test(key)) {
      error(lineNo, col, `${quoteShort(key)} is not a field name`, 'field names are letters, digits and _, as in "depends = zlib"');
      continue;
    }
    if (keep !== undefined && !keep.has(key) && key !== 'pkgbase' && key !== 'pkgname' && !SINGLE_VALUED.has(key)) {
      // A field the caller does not use: read (and its place checked), not kept.
      if (pkgbase === undefined) error(lineNo, col, `"${key}" before pkgbase`, BEFORE_PKGBASE_HINT);
      continue;
    }
    let valueStart = eq + 1;
    while (valueStart < j && text.charCodeAt(valueStart) === SPACE) valueStart++;
    const value = valueStart < j ? text.slice(valueStart, j) : '';
    const valueCol = valueStart - start + 1;
    if (key === 'pkgbase') {
      if (pkgbase !== undefined) {
        error(lineNo, col, 'a second pkgbase', 'a .SRCINFO describes one pkgbase: move the other into its own directory');
        continue;
      }
      if (current !== undefined) {
        error(lineNo, col, 'pkgbase after a pkgname section', 'pkgbase comes first, before the pkgname sections');
        continue;
      }
      pkgbase = value;
      if (!PACKAGE_NAME_PATTERN.test(value)) error(lineNo, valueCol, `pkgbase ${quoteShort(value)} is not a valid package name`, PACKAGE_NAME_HINT);
      continue;
    }
    if (pkgbase === undefined) {
      error(lineNo, col, `"${key}" before pkgbase`, BEFORE_PKGBASE_HINT);
      continue;
    }
    if (key === 'pkgname') {
      if (!PACKAGE_NAME_PATTERN.test(value)) error(lineNo, valueCol, `pkgname ${quoteShort(value)} is not a valid package name`, PACKAGE_NAME_HINT);
      else if (packages.some((p) => p.name === value)) error(lineNo, valueCol, `package ${value} is listed twice`, 'remove the repeated pkgname section');
      current = new Map();
      packages.push({ name: value, line: lineNo, fields: current });
      continue;
    }
    const target = current ?? global;
    if (SINGLE_VALUED.has(key)) {
      if (current !== undefined) {
        error(lineNo, col, `${key} is set in the section of package ${packages[packages.length - 1]!.name}`, `${key} belongs to pkgbase: a split package's packages share it`);
        continue;
      }
      if (global.has(key)) {
        error(lineNo, col, `${key} is set twice`, `keep one "${key} = …" line`);
        continue;
      }
      if (value === '') {
        error(lineNo, col, `${key} is empty`, `write e.g. "${key} = 1"`);
        continue;
      }
    }
    const list = target.get(key);
    // An empty value clears the field (a package overriding it with nothing): no item.
    if (list === undefined) {
      // Its empty list made from [value] all the same (and with no branch of its own), so that every
      // list has the same elements kind: an empty literal starts as one of small integers, another
      // shape to V8's optimized code, which it throws away on meeting it.
      const values = [value];
      values.length = value === '' ? 0 : 1;
      target.set(key, values);
    } else if (value !== '') list.push(value);
  }
  if (pkgbase === undefined) {
    if (diagnostics.length === 0) error(1, 1, 'no pkgbase', 'a .SRCINFO starts with "pkgbase = NAME"; regenerate it with `makepkg --printsrcinfo > .SRCINFO`');
    return { diagnostics };
  }
  return { sections: { pkgbase, global, packages }, diagnostics };
}

const PACKAGE_NAME_HINT = `package names use letters, digits and @._+-, start with a letter or digit and have at most ${MAX_NAME_LENGTH} characters`;

/** The fields resolved per architecture: a package's dependencies for `A` are `depends` plus `depends_A`, and so on. */
const ARCH_FIELDS = ['depends', 'provides', 'makedepends', 'checkdepends'] as const;
type ArchField = (typeof ARCH_FIELDS)[number];

/** For one architecture: the fields a recipe is made of (what {@link splitSrcinfo} needs to keep), and each per-architecture field's name for it. */
interface ArchitectureFields {
  readonly keep: ReadonlySet<string>;
  readonly specific: Readonly<Record<ArchField, string>>;
}

const architectureFields = new Map<string, ArchitectureFields>();

function fieldsFor(architecture: string): ArchitectureFields {
  let fields = architectureFields.get(architecture);
  if (fields === undefined) {
    const specific = Object.fromEntries(ARCH_FIELDS.map((name) => [name, `${name}_${architecture}`])) as Record<ArchField, string>;
    fields = { keep: new Set(['pkgdesc', 'arch', ...ARCH_FIELDS, ...Object.values(specific)]), specific };
    architectureFields.set(architecture, fields);
  }
  return fields;
}

/** No values: an empty list of the same elements kind as those {@link splitSrcinfo} makes. */
const NONE: readonly string[] = [''].slice(1);

/** `name` plus `name_<architecture>` of a section (`own`: a package's fields, overriding the global ones one name at a time). */
function withArch(own: ReadonlyMap<string, readonly string[]>, global: ReadonlyMap<string, readonly string[]>, name: ArchField, specificName: string): readonly string[] {
  const plain = own.get(name) ?? global.get(name) ?? NONE;
  const specific = own.get(specificName) ?? global.get(specificName) ?? NONE;
  return specific.length === 0 ? plain : plain.length === 0 ? specific : plain.concat(specific);
}

/** The packages of a .SRCINFO with fields resolved for `architecture`. */
export function resolvePackages(sections: SrcinfoSections, architecture: string): SrcinfoPackage[] {
  const { global } = sections;
  const { specific } = fieldsFor(architecture);
  const packages: SrcinfoPackage[] = [];
  for (const p of sections.packages) {
    const own = p.fields;
    const arch = own.get('arch') ?? global.get('arch') ?? NONE;
    const description = (own.get('pkgdesc') ?? global.get('pkgdesc'))?.[0];
    const depends = withArch(own, global, 'depends', specific.depends);
    const provides = withArch(own, global, 'provides', specific.provides);
    const built = arch.includes(architecture) || arch.includes('any');
    packages.push(description !== undefined ? { name: p.name, description, arch, depends, provides, built } : { name: p.name, arch, depends, provides, built });
  }
  return packages;
}

/** Adds every value of `list` to `set` (which keeps them once, in order of first appearance). */
function addAll(set: Set<string>, list: readonly string[]): void {
  for (let k = 0; k < list.length; k++) set.add(list[k]!);
}

/** A .SRCINFO's recipe for one architecture, or the located reason it cannot be read. */
export function parseSrcinfoFile(input: SrcinfoInput): Recipe | InvalidRecipe {
  const id = input.dirName as RecipeId;
  const { displayFile, architecture } = input;
  if (!PACKAGE_NAME_PATTERN.test(input.dirName)) {
    return { id, file: displayFile, diagnostics: [{ severity: 'error', file: displayFile, message: `directory name ${quoteShort(input.dirName)} is not a valid package name`, hint: `rename the directory: ${PACKAGE_NAME_HINT}` }] };
  }
  const fields = fieldsFor(architecture);
  const { sections, diagnostics } = splitSrcinfo(input.text, displayFile, fields.keep);
  if (sections === undefined || diagnostics.length > 0) return { id, file: displayFile, diagnostics };
  const { global } = sections;
  const located = (key: string, message: string, hint: string): Diagnostic => ({ severity: 'error', file: displayFile, ...lineOf(input.text, key), message, hint });
  const pkgver = global.get('pkgver')?.[0];
  const pkgrel = global.get('pkgrel')?.[0];
  const epoch = global.get('epoch')?.[0];
  const problems: Diagnostic[] = [];
  if (pkgver === undefined) problems.push({ severity: 'error', file: displayFile, line: 1, col: 1, message: 'no pkgver', hint: 'write "pkgver = 1.0" in the pkgbase section' });
  else if (!VERSION_PART_PATTERN.test(pkgver)) problems.push(located('pkgver', `pkgver ${quoteShort(pkgver)} is not a valid version`, pkgver.length > MAX_VERSION_LENGTH ? `a version has at most ${MAX_VERSION_LENGTH} characters` : 'versions use letters, digits and ._+~ (no "-" or ":")'));
  if (pkgrel === undefined) problems.push({ severity: 'error', file: displayFile, line: 1, col: 1, message: 'no pkgrel', hint: 'write "pkgrel = 1" in the pkgbase section' });
  else if (!/^[0-9]+(\.[0-9]+)?$/.test(pkgrel) || pkgrel.length > MAX_RELEASE_LENGTH) problems.push(located('pkgrel', `pkgrel ${quoteShort(pkgrel)} is not a release number`, `a pkgrel is a whole number, optionally with one ".N" (1, 2, 1.1), at most ${MAX_RELEASE_LENGTH} characters`));
  if (epoch !== undefined && (!/^[0-9]+$/.test(epoch) || epoch.length > MAX_EPOCH_LENGTH)) problems.push(located('epoch', `epoch ${quoteShort(epoch)} is not a whole number`, `an epoch is a whole number (1, 2, …) of at most ${MAX_EPOCH_LENGTH} digits`));
  if (sections.packages.length === 0) problems.push({ severity: 'error', file: displayFile, line: 1, col: 1, message: 'no pkgname section', hint: `add "pkgname = ${sections.pkgbase}" after the pkgbase section` });
  if (problems.length > 0) return { id, file: displayFile, diagnostics: problems };

  const all = resolvePackages(sections, architecture);
  // Not for this architecture at all: keep every package, so that dependents are skipped because of it.
  const forArchitecture = all.filter((p) => p.built);
  const built = forArchitecture.length > 0 ? forArchitecture : all;
  const packages: PackageName[] = [];
  for (let k = 0; k < built.length; k++) packages.push(built[k]!.name as PackageName);
  const main = (packages.includes(sections.pkgbase as PackageName) ? sections.pkgbase : (packages[0] ?? all[0]!.name)) as PackageName;
  const description = global.get('pkgdesc')?.[0] ?? all.find((p) => p.name === main)?.description;
  const { specific } = fields;
  const depends = new Set<string>();
  const provides = new Set<string>();
  for (let k = 0; k < built.length; k++) {
    addAll(depends, built[k]!.depends);
    addAll(provides, built[k]!.provides);
  }
  const buildDepends = new Set<string>();
  addAll(buildDepends, global.get('makedepends') ?? NONE);
  addAll(buildDepends, global.get(specific.makedepends) ?? NONE);
  addAll(buildDepends, global.get('checkdepends') ?? NONE);
  addAll(buildDepends, global.get(specific.checkdepends) ?? NONE);
  const recipe: { -readonly [K in keyof Recipe]: Recipe[K] } = {
    id,
    name: main,
    packages,
    version: epoch !== undefined ? { epoch, version: pkgver!, release: pkgrel! } : { version: pkgver!, release: pkgrel! },
    depends: Array.from(depends),
    buildDepends: Array.from(buildDepends),
    provides: Array.from(provides),
    dir: input.dir,
    file: displayFile,
    files: input.files,
  };
  if (description !== undefined) recipe.description = description;
  if (forArchitecture.length === 0) recipe.notBuilt = { reason: 'not-for-architecture', detail: `arch is ${all[0]!.arch.join(', ') || 'empty'}, not ${architecture} or any` };
  return recipe;
}

/** Line and column of the first `key = …` line. */
function lineOf(text: string, key: string): { line: number; col: number } {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i]!.trimStart();
    if (trimmed.startsWith(`${key} `) || trimmed.startsWith(`${key}=`)) return { line: i + 1, col: lines[i]!.length - trimmed.length + 1 };
  }
  return { line: 1, col: 1 };
}

/** Where a .SRCINFO names a dependency (constraint stripped): the first depends/makedepends/checkdepends line (any architecture). */
export function locateSrcinfoDependency(text: string, dependency: string): { line: number; col: number } | undefined {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const m = /^(\s*)((?:make|check)?depends(?:_[A-Za-z0-9_]+)?)\s*=\s*(\S.*?)\s*$/.exec(line);
    if (m !== null && dependencyName(m[3]!) === dependency) return { line: i + 1, col: line.indexOf(m[3]!, m[1]!.length + m[2]!.length) + 1 };
  }
  return undefined;
}
