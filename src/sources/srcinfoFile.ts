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
const EQUALS = 61;

/** Whether a character (code) may be in a field name: letters, digits and `_`. */
const isKeyChar = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;

const KEY_VALUE_HINT = 'regenerate the file with `makepkg --printsrcinfo > .SRCINFO`';

/**
 * Splits a .SRCINFO into sections; errors are located at their line.
 *
 * Lines end at `\n` only. On each line: leading tabs and spaces (makepkg indents fields with a
 * tab) and trailing spaces, tabs and `\r` are not part of it; a blank line or one starting with
 * `#` is skipped; any other is a field name (letters, digits and `_`), spaces, the first `=`,
 * spaces, and the value (possibly empty; other whitespace, U+2028 and U+2029 included, is kept).
 * The text is read in place, by character codes: no string is made per line, only each field's
 * name and value (about half the parsing time of the 2,533-file benchmark tree went into a regular
 * expression match and its strings per line).
 */
export function splitSrcinfo(text: string, displayFile: string): { sections?: SrcinfoSections; diagnostics: Diagnostic[] } {
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
  // A text that ends with a newline has a last, empty line: blank, skipped.
  for (let start = 0, next = 0; start <= length; start = next) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = length;
    next = end + 1;
    lineNo++;
    let i = start;
    let c = text.charCodeAt(i);
    while (i < end && (c === TAB || c === SPACE)) c = text.charCodeAt(++i);
    let j = end;
    while (j > i) {
      const d = text.charCodeAt(j - 1);
      if (d !== SPACE && d !== TAB && d !== CR) break;
      j--;
    }
    if (i === j || c === HASH) continue;
    const col = i - start + 1;
    let keyEnd = i;
    while (keyEnd < j && isKeyChar(text.charCodeAt(keyEnd))) keyEnd++;
    let eq = keyEnd;
    while (eq < j && text.charCodeAt(eq) === SPACE) eq++;
    if (keyEnd === i || eq === j || text.charCodeAt(eq) !== EQUALS) {
      // Not a field: no "=" at all, or what comes before the first one is not a field name.
      let at = i;
      while (at < j && text.charCodeAt(at) !== EQUALS) at++;
      if (at === j) error(lineNo, col, `expected "key = value", found ${quoteShort(text.slice(i, j))}`, KEY_VALUE_HINT);
      else {
        while (at > i && text.charCodeAt(at - 1) === SPACE) at--;
        error(lineNo, col, `${quoteShort(text.slice(i, at))} is not a field name`, 'field names are letters, digits and _, as in "depends = zlib"');
      }
      continue;
    }
    let valueStart = eq + 1;
    while (valueStart < j && text.charCodeAt(valueStart) === SPACE) valueStart++;
    const key = text.slice(i, keyEnd);
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
      error(lineNo, col, `"${key}" before pkgbase`, 'a .SRCINFO starts with "pkgbase = NAME"; regenerate it with `makepkg --printsrcinfo > .SRCINFO`');
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
    if (list === undefined) target.set(key, value === '' ? [] : [value]);
    else if (value !== '') list.push(value);
  }
  if (pkgbase === undefined) {
    if (diagnostics.length === 0) error(1, 1, 'no pkgbase', 'a .SRCINFO starts with "pkgbase = NAME"; regenerate it with `makepkg --printsrcinfo > .SRCINFO`');
    return { diagnostics };
  }
  return { sections: { pkgbase, global, packages }, diagnostics };
}

const PACKAGE_NAME_HINT = `package names use letters, digits and @._+-, start with a letter or digit and have at most ${MAX_NAME_LENGTH} characters`;

/** The packages of a .SRCINFO with fields resolved for `architecture`. */
export function resolvePackages(sections: SrcinfoSections, architecture: string): SrcinfoPackage[] {
  const { global } = sections;
  const field = (own: ReadonlyMap<string, readonly string[]>, name: string): readonly string[] => own.get(name) ?? global.get(name) ?? [];
  const withArch = (own: ReadonlyMap<string, readonly string[]>, name: string): readonly string[] => {
    const plain = field(own, name);
    const specific = field(own, `${name}_${architecture}`);
    return specific.length === 0 ? plain : [...plain, ...specific];
  };
  return sections.packages.map((p) => {
    const arch = field(p.fields, 'arch');
    const description = field(p.fields, 'pkgdesc')[0];
    return {
      name: p.name,
      ...(description !== undefined ? { description } : {}),
      arch,
      depends: withArch(p.fields, 'depends'),
      provides: withArch(p.fields, 'provides'),
      built: arch.includes(architecture) || arch.includes('any'),
    };
  });
}

/** A .SRCINFO's recipe for one architecture, or the located reason it cannot be read. */
export function parseSrcinfoFile(input: SrcinfoInput): Recipe | InvalidRecipe {
  const id = input.dirName as RecipeId;
  const invalid = (diagnostics: Diagnostic[]): InvalidRecipe => ({ id, file: input.displayFile, diagnostics });
  if (!PACKAGE_NAME_PATTERN.test(input.dirName)) {
    return invalid([{ severity: 'error', file: input.displayFile, message: `directory name ${quoteShort(input.dirName)} is not a valid package name`, hint: `rename the directory: ${PACKAGE_NAME_HINT}` }]);
  }
  const { sections, diagnostics } = splitSrcinfo(input.text, input.displayFile);
  if (sections === undefined || diagnostics.length > 0) return invalid(diagnostics);
  const { global } = sections;
  const located = (key: string, message: string, hint: string): Diagnostic => ({ severity: 'error', file: input.displayFile, ...lineOf(input.text, key), message, hint });
  const pkgver = global.get('pkgver')?.[0];
  const pkgrel = global.get('pkgrel')?.[0];
  const epoch = global.get('epoch')?.[0];
  const problems: Diagnostic[] = [];
  if (pkgver === undefined) problems.push({ severity: 'error', file: input.displayFile, line: 1, col: 1, message: 'no pkgver', hint: 'write "pkgver = 1.0" in the pkgbase section' });
  else if (!VERSION_PART_PATTERN.test(pkgver)) problems.push(located('pkgver', `pkgver ${quoteShort(pkgver)} is not a valid version`, pkgver.length > MAX_VERSION_LENGTH ? `a version has at most ${MAX_VERSION_LENGTH} characters` : 'versions use letters, digits and ._+~ (no "-" or ":")'));
  if (pkgrel === undefined) problems.push({ severity: 'error', file: input.displayFile, line: 1, col: 1, message: 'no pkgrel', hint: 'write "pkgrel = 1" in the pkgbase section' });
  else if (!/^[0-9]+(\.[0-9]+)?$/.test(pkgrel) || pkgrel.length > MAX_RELEASE_LENGTH) problems.push(located('pkgrel', `pkgrel ${quoteShort(pkgrel)} is not a release number`, `a pkgrel is a whole number, optionally with one ".N" (1, 2, 1.1), at most ${MAX_RELEASE_LENGTH} characters`));
  if (epoch !== undefined && (!/^[0-9]+$/.test(epoch) || epoch.length > MAX_EPOCH_LENGTH)) problems.push(located('epoch', `epoch ${quoteShort(epoch)} is not a whole number`, `an epoch is a whole number (1, 2, …) of at most ${MAX_EPOCH_LENGTH} digits`));
  if (sections.packages.length === 0) problems.push({ severity: 'error', file: input.displayFile, line: 1, col: 1, message: 'no pkgname section', hint: `add "pkgname = ${sections.pkgbase}" after the pkgbase section` });
  if (problems.length > 0) return invalid(problems);

  const all = resolvePackages(sections, input.architecture);
  // Not for this architecture at all: keep every package, so that dependents are skipped because of it.
  const built = all.some((p) => p.built) ? all.filter((p) => p.built) : all;
  const depends = new Set<string>();
  const provides = new Set<string>();
  for (const p of built) {
    for (const d of p.depends) depends.add(d);
    for (const d of p.provides) provides.add(d);
  }
  const field = (name: string): readonly string[] => {
    const plain = global.get(name) ?? [];
    const specific = global.get(`${name}_${input.architecture}`);
    return specific === undefined ? plain : [...plain, ...specific];
  };
  const buildDepends = [...new Set([...field('makedepends'), ...field('checkdepends')])];
  const packages = built.map((p) => p.name as PackageName);
  const main = (packages.includes(sections.pkgbase as PackageName) ? sections.pkgbase : (packages[0] ?? all[0]!.name)) as PackageName;
  const description = global.get('pkgdesc')?.[0] ?? all.find((p) => p.name === main)?.description;
  return {
    id,
    name: main,
    packages,
    version: { ...(epoch !== undefined ? { epoch } : {}), version: pkgver!, release: pkgrel! },
    depends: [...depends],
    buildDepends,
    provides: [...provides],
    dir: input.dir,
    file: input.displayFile,
    files: input.files,
    ...(description !== undefined ? { description } : {}),
    ...(!all.some((p) => p.built) ? { notBuilt: { reason: 'not-for-architecture', detail: `arch is ${all[0]!.arch.join(', ') || 'empty'}, not ${input.architecture} or any` } } : {}),
  };
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
