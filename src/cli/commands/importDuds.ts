/**
 * `buildfleet import duds FILE --branch B`: turns a portbuild duds file (one
 * package or origin per line, `#` comments; see config/dudsFile.ts) into the
 * `duds:` entries of a branch, printed to stdout, or with `--merge` added to
 * `branches/B.yaml` through the `yaml` Document API, so that its comments and
 * layout stay as they are. A comment after an entry becomes its reason
 * (default: `listed in <file>`). Any bad line is a located error and nothing is
 * printed or written.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Document, isMap, isScalar, isSeq, parseDocument, type YAMLSeq } from 'yaml';
import { formatDiagnostic } from '../../config/diagnostic.js';
import { parseDudsFile } from '../../config/dudsFile.js';
import { BRANCH_NAME } from '../../config/load.js';
import { validateAgainstSchema } from '../../config/schema.js';
import { parseYaml } from '../../config/yamlFile.js';
import { writeFileAtomic } from '../../execute/fsUtil.js';
import { ExitCode } from '../exitCodes.js';
import type { GlobalOptions } from '../globalOptions.js';
import { printDiagnostics, type Output } from '../io.js';

export interface ImportDudsOptions {
  readonly file: string;
  /** The branch whose `duds:` the entries are for (branches/<branch>.yaml). */
  readonly branch: string;
  /** Add the entries to branches/<branch>.yaml instead of printing them. */
  readonly merge: boolean;
}

export async function runImportDuds(global: GlobalOptions, options: ImportDudsOptions, out: Output): Promise<ExitCode> {
  if (!BRANCH_NAME.test(options.branch)) {
    printDiagnostics(out, [{ severity: 'error', file: 'branches/', message: `"${options.branch}" is not a valid branch name`, hint: 'pass a branch name (the name of a file in branches/, without .yaml): letters, digits, ".", "_" and "-"' }]);
    return ExitCode.error;
  }
  let text: string;
  try {
    text = readFileSync(options.file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    printDiagnostics(out, [{ severity: 'error', file: options.file, message: code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? String(error)})`, hint: 'pass the path of a portbuild duds file' }]);
    return ExitCode.error;
  }
  const { entries, diagnostics } = parseDudsFile(text, options.file);
  if (diagnostics.length > 0) {
    printDiagnostics(out, diagnostics);
    return ExitCode.error;
  }
  if (entries.length === 0) {
    printDiagnostics(out, [{ severity: 'error', file: options.file, message: 'the duds file lists no package', hint: 'add one package name or origin category/port per line' }]);
    return ExitCode.error;
  }
  const base = path.basename(options.file);
  const duds = entries.map((e) => ({ package: e.package, reason: e.reason ?? `listed in ${base}` }));
  if (!options.merge) {
    const doc = new Document({ duds });
    doc.commentBefore = ` duds: entries for branches/${options.branch}.yaml imported from ${base} by buildfleet import duds`;
    out.stdout(doc.toString({ lineWidth: 0 }));
    return ExitCode.ok;
  }
  return mergeIntoBranchFile(global, options, entries.map((e, i) => ({ ...duds[i]!, line: e.line, col: e.col })), out);
}

/** Adds the duds to branches/<branch>.yaml, keeping what is there (comments included); entries already listed stay as they are. */
async function mergeIntoBranchFile(
  global: GlobalOptions,
  options: ImportDudsOptions,
  duds: readonly { package: string; reason: string; line: number; col: number }[],
  out: Output,
): Promise<ExitCode> {
  const display = `branches/${options.branch}.yaml`;
  const file = path.join(global.configDir, 'branches', `${options.branch}.yaml`);
  let existing: string;
  try {
    existing = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    printDiagnostics(out, [
      code === 'ENOENT'
        ? { severity: 'error', file: display, message: `branch "${options.branch}" has no file`, hint: 'pass the name of an existing branch (a file in branches/), or print the entries without --merge' }
        : { severity: 'error', file: display, message: `cannot read the file (${code ?? String(error)})`, hint: 'check the file permissions' },
    ]);
    return ExitCode.error;
  }
  const doc: Document = parseDocument(existing);
  if (doc.errors.length > 0) {
    printDiagnostics(out, parseYaml(display, existing).diagnostics);
    return ExitCode.error;
  }
  if (!isMap(doc.contents)) {
    printDiagnostics(out, [{ severity: 'error', file: display, line: 1, col: 1, message: 'the branch file is not a mapping', hint: 'fix the branch file first (`buildfleet validate`), then import again' }]);
    return ExitCode.error;
  }
  const map = doc.contents;
  if (!map.has('duds')) map.set('duds', doc.createNode([]));
  const seq = map.get('duds', true);
  if (!isSeq(seq)) {
    printDiagnostics(out, [{ severity: 'error', file: display, line: 1, col: 1, message: '`duds` is not a list', hint: 'fix the branch file first (`buildfleet validate`), then import again' }]);
    return ExitCode.error;
  }
  const present = new Set(
    (seq as YAMLSeq).items.flatMap((item) => {
      const name = isMap(item) ? item.get('package', true) : undefined;
      return isScalar(name) ? [String(name.value)] : [];
    }),
  );
  const added = duds.filter((d) => !present.has(d.package));
  for (const d of added) (seq as YAMLSeq).add(doc.createNode({ package: d.package, reason: d.reason }));
  const merged = doc.toString({ lineWidth: 0 });
  // The result must be a valid branch file; nothing is written otherwise.
  const check = parseYaml(display, merged);
  const problems = [...check.diagnostics, ...validateAgainstSchema('branch', check.yaml.data, check.yaml)];
  if (problems.length > 0) {
    printDiagnostics(out, problems);
    out.stderr(`${formatDiagnostic({ severity: 'error', file: display, message: 'not written: the merged file would not be valid', hint: 'fix the branch file or the duds file, then import again' })}\n`);
    return ExitCode.error;
  }
  if (added.length > 0) {
    try {
      await writeFileAtomic(file, merged);
    } catch (error) {
      out.stderr(`${formatDiagnostic({ severity: 'error', file: display, message: `cannot write the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`, hint: 'check that the branches directory is writable' })}\n`);
      return ExitCode.error;
    }
  }
  const kept = duds.length - added.length;
  out.stderr(`added ${added.length} dud(s) to ${display}${kept > 0 ? `; ${kept} already listed there, left as they are` : ''}\n`);
  return ExitCode.ok;
}
