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

/**
 * A well-formed `key = value` line, as {@link splitLine} reads it: leading tabs and spaces, a field
 * name, spaces, the first `=`, spaces (taken atomically, through a lookahead and a backreference,
 * so that no input makes the match backtrack more than linearly), the value up to the end of the
 * line; the value's trailing spaces and tabs are trimmed after the match. One native regex match
 * per line is the fast path; every other line (blank, comment, malformed, or holding \r or another
 * line terminator JavaScript's `.` does not match) goes through `splitLine`, which decides exactly.
 */
const FIELD_LINE = /^[\t ]*([A-Za-z0-9_]+) *=(?=( *))\2(.*)$/;

/** `value` without its trailing spaces and tabs. */
function trimEnd(value: string): string {
  let j = value.length;
  while (j > 0 && (value.charCodeAt(j - 1) === 32 || value.charCodeAt(j - 1) === 9)) j--;
  return j === value.length ? value : value.slice(0, j);
}

type SplitLine =
  | { readonly kind: 'skip' }
  | { readonly kind: 'error'; readonly col: number; readonly message: string; readonly hint: string }
  | { readonly kind: 'field'; readonly key: string; readonly value: string; readonly col: number; readonly valueCol: number };

/** One line of a .SRCINFO: blank or comment, a field (with the columns of its key and value), or why it is not one. */
function splitLine(raw: string): SplitLine {
  // Leading whitespace (makepkg indents fields with a tab), trailing whitespace and \r.
  let i = 0;
  while (i < raw.length && (raw.charCodeAt(i) === 9 || raw.charCodeAt(i) === 32)) i++;
  let j = raw.length;
  while (j > i && (raw.charCodeAt(j - 1) === 32 || raw.charCodeAt(j - 1) === 9 || raw.charCodeAt(j - 1) === 13)) j--;
  if (i === j || raw.charCodeAt(i) === 35 /* # */) return { kind: 'skip' };
  const eq = raw.indexOf('=', i);
  if (eq < 0) return { kind: 'error', col: i + 1, message: `expected "key = value", found ${quoteShort(raw.slice(i, j))}`, hint: 'regenerate the file with `makepkg --printsrcinfo > .SRCINFO`' };
  let keyEnd = eq;
  while (keyEnd > i && raw.charCodeAt(keyEnd - 1) === 32) keyEnd--;
  const key = raw.slice(i, keyEnd);
  let valueStart = eq + 1;
  while (valueStart < j && raw.charCodeAt(valueStart) === 32) valueStart++;
  if (!/^[A-Za-z0-9_]+$/.test(key)) return { kind: 'error', col: i + 1, message: `${quoteShort(key)} is not a field name`, hint: 'field names are letters, digits and _, as in "depends = zlib"' };
  return { kind: 'field', key, value: valueStart < j ? raw.slice(valueStart, j) : '', col: i + 1, valueCol: valueStart + 1 };
}

/** Column of a field line's key, and of its value: only needed for errors, so worked out then. */
const colOf = (raw: string): number => (splitLine(raw) as { readonly col: number }).col;
const valueColOf = (raw: string): number => (splitLine(raw) as { readonly valueCol: number }).valueCol;

/** Splits a .SRCINFO into sections; errors are located at their line. */
export function splitSrcinfo(text: string, displayFile: string): { sections?: SrcinfoSections; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const error = (line: number, col: number, message: string, hint: string): void => {
    diagnostics.push({ severity: 'error', file: displayFile, line, col, message, hint });
  };
  let pkgbase: string | undefined;
  const global = new Map<string, string[]>();
  const packages: { name: string; line: number; fields: Map<string, string[]> }[] = [];
  let current: Map<string, string[]> | undefined;
  // Splitting a text that ends with a newline gives a last empty line: blank, skipped.
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const lineNo = n + 1;
    let key: string;
    let value: string;
    const match = FIELD_LINE.exec(raw);
    if (match !== null) {
      key = match[1]!;
      value = trimEnd(match[3]!);
    } else {
      const line = splitLine(raw);
      if (line.kind === 'skip') continue;
      if (line.kind === 'error') {
        error(lineNo, line.col, line.message, line.hint);
        continue;
      }
      ({ key, value } = line);
    }
    if (key === 'pkgbase') {
      if (pkgbase !== undefined) {
        error(lineNo, colOf(raw), 'a second pkgbase', 'a .SRCINFO describes one pkgbase: move the other into its own directory');
        continue;
      }
      if (current !== undefined) {
        error(lineNo, colOf(raw), 'pkgbase after a pkgname section', 'pkgbase comes first, before the pkgname sections');
        continue;
      }
      pkgbase = value;
      if (!PACKAGE_NAME_PATTERN.test(value)) error(lineNo, valueColOf(raw), `pkgbase ${quoteShort(value)} is not a valid package name`, PACKAGE_NAME_HINT);
      continue;
    }
    if (pkgbase === undefined) {
      error(lineNo, colOf(raw), `"${key}" before pkgbase`, 'a .SRCINFO starts with "pkgbase = NAME"; regenerate it with `makepkg --printsrcinfo > .SRCINFO`');
      continue;
    }
    if (key === 'pkgname') {
      if (!PACKAGE_NAME_PATTERN.test(value)) error(lineNo, valueColOf(raw), `pkgname ${quoteShort(value)} is not a valid package name`, PACKAGE_NAME_HINT);
      else if (packages.some((p) => p.name === value)) error(lineNo, valueColOf(raw), `package ${value} is listed twice`, 'remove the repeated pkgname section');
      current = new Map();
      packages.push({ name: value, line: lineNo, fields: current });
      continue;
    }
    const target = current ?? global;
    if (SINGLE_VALUED.has(key)) {
      if (current !== undefined) {
        error(lineNo, colOf(raw), `${key} is set in the section of package ${packages[packages.length - 1]!.name}`, `${key} belongs to pkgbase: a split package's packages share it`);
        continue;
      }
      if (global.has(key)) {
        error(lineNo, colOf(raw), `${key} is set twice`, `keep one "${key} = …" line`);
        continue;
      }
      if (value === '') {
        error(lineNo, colOf(raw), `${key} is empty`, `write e.g. "${key} = 1"`);
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
