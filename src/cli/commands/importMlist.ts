/**
 * `buildfleet import mlist FILE`: turns a portbuild `mlist` (one `hostname power`
 * per line; `#` comments and blank lines ignored) into `hosts.yaml` entries,
 * printed to stdout, or with `--merge` added to the config's hosts.yaml through
 * the `yaml` Document API, so that its comments and layout stay as they are.
 * Any bad line is a located error and nothing is printed or written.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Document, isMap, isScalar, isSeq, parseDocument, type YAMLSeq } from 'yaml';
import { formatDiagnostic, quoteShort, type Diagnostic } from '../../config/diagnostic.js';
import { validateAgainstSchema } from '../../config/schema.js';
import { DEFAULT_WORKDIR, MAX_HOST_POWER } from '../../config/types.js';
import { parseYaml } from '../../config/yamlFile.js';
import { writeFileAtomic } from '../../execute/fsUtil.js';
import { ExitCode } from '../exitCodes.js';
import type { GlobalOptions } from '../globalOptions.js';
import { printDiagnostics, type Output } from '../io.js';

export interface ImportMlistOptions {
  readonly file: string;
  readonly transport: 'ssh' | 'local';
  /** SSH login user of every imported host. */
  readonly user: string;
  readonly knownHostsFile: string;
  readonly identityFile?: string;
  readonly port?: number;
  readonly workdir?: string;
  readonly labels: readonly string[];
  /** Add the hosts to <config>/hosts.yaml instead of printing them. */
  readonly merge: boolean;
}

/** One machine of an mlist. */
export interface MlistHost {
  /** The host name as written (the SSH address). */
  readonly address: string;
  /** The buildfleet name: the address in lower case. */
  readonly name: string;
  readonly power: number;
  readonly line: number;
}

const HOST_NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** Parses mlist text; every bad line is a located diagnostic. */
export function parseMlist(text: string, file: string): { hosts: MlistHost[]; diagnostics: Diagnostic[] } {
  const hosts: MlistHost[] = [];
  const diagnostics: Diagnostic[] = [];
  const seen = new Map<string, number>();
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const hash = raw.indexOf('#');
    const content = (hash >= 0 ? raw.slice(0, hash) : raw).replace(/\r$/, '');
    if (content.trim() === '') return;
    const col = content.search(/\S/) + 1;
    const err = (c: number, message: string, hint: string): void => void diagnostics.push({ severity: 'error', file, line, col: c, message, hint });
    const fields = content.trim().split(/\s+/);
    if (fields.length !== 2) {
      err(col, `expected "hostname power", found ${fields.length} field${fields.length === 1 ? '' : 's'}`, 'write one machine per line: its host name, a space and its power (builds at once), e.g. `gohan1.freebsd.org 2`');
      return;
    }
    const [address, powerText] = fields as [string, string];
    const powerCol = content.indexOf(powerText, col - 1 + address.length) + 1;
    const name = address.toLowerCase();
    if (!HOST_NAME.test(name)) {
      err(col, `"${address}" is not a usable host name`, "host names use letters, digits, '.', '_' and '-', and start with a letter or digit");
      return;
    }
    if (!/^\d+$/.test(powerText) || Number(powerText) < 1 || Number(powerText) > MAX_HOST_POWER) {
      err(powerCol, `power ${quoteShort(powerText)} is not a whole number of builds at once from 1 to ${MAX_HOST_POWER}`, 'give the number of builds the machine runs at once, e.g. 2');
      return;
    }
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      err(col, `host "${address}" is listed again (first on line ${earlier})`, 'list each machine once');
      return;
    }
    seen.set(name, line);
    hosts.push({ address, name, power: Number(powerText), line });
  });
  if (hosts.length === 0 && diagnostics.length === 0) {
    diagnostics.push({ severity: 'error', file, message: 'the mlist lists no machine', hint: 'add one `hostname power` line per build machine' });
  }
  return { hosts, diagnostics };
}

/** The hosts.yaml entry of an imported machine (key order as in DESIGN.md). */
function hostEntry(host: MlistHost, options: ImportMlistOptions): Record<string, unknown> {
  const entry: Record<string, unknown> = { name: host.name, transport: options.transport };
  if (options.transport === 'ssh') {
    entry['address'] = host.address;
    if (options.port !== undefined) entry['port'] = options.port;
    entry['user'] = options.user;
    if (options.identityFile !== undefined) entry['identityFile'] = options.identityFile;
    entry['knownHostsFile'] = options.knownHostsFile;
    entry['workdir'] = options.workdir ?? DEFAULT_WORKDIR;
  }
  entry['power'] = host.power;
  if (options.labels.length > 0) entry['labels'] = [...options.labels];
  return entry;
}

export async function runImportMlist(global: GlobalOptions, options: ImportMlistOptions, out: Output): Promise<ExitCode> {
  let text: string;
  try {
    text = readFileSync(options.file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    printDiagnostics(out, [{ severity: 'error', file: options.file, message: code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? String(error)})`, hint: 'pass the path of a portbuild mlist' }]);
    return ExitCode.error;
  }
  const { hosts, diagnostics } = parseMlist(text, options.file);
  if (diagnostics.length > 0) {
    printDiagnostics(out, diagnostics);
    return ExitCode.error;
  }
  const entries = hosts.map((h) => hostEntry(h, options));
  if (!options.merge) {
    const doc = new Document({ hosts: entries });
    doc.commentBefore = ` hosts.yaml entries imported from ${path.basename(options.file)} by buildfleet import mlist`;
    out.stdout(doc.toString({ lineWidth: 0 }));
    return ExitCode.ok;
  }
  return mergeIntoHostsFile(global, options.file, hosts, entries, out);
}

/** Adds the entries to hosts.yaml, keeping what is there (comments included); refuses names already present. */
async function mergeIntoHostsFile(global: GlobalOptions, mlist: string, hosts: readonly MlistHost[], entries: readonly Record<string, unknown>[], out: Output): Promise<ExitCode> {
  const file = path.join(global.configDir, 'hosts.yaml');
  let existing = '';
  try {
    existing = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      printDiagnostics(out, [{ severity: 'error', file: 'hosts.yaml', message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`, hint: 'check the file permissions' }]);
      return ExitCode.error;
    }
  }
  const doc = existing.trim() === '' ? new Document({ hosts: [] }) : parseDocument(existing);
  if (doc.errors.length > 0) {
    printDiagnostics(out, parseYaml('hosts.yaml', existing).diagnostics);
    return ExitCode.error;
  }
  if (!isMap(doc.contents)) {
    printDiagnostics(out, [{ severity: 'error', file: 'hosts.yaml', line: 1, col: 1, message: 'hosts.yaml is not a mapping with a `hosts` list', hint: 'fix hosts.yaml first (`buildfleet validate`), then import again' }]);
    return ExitCode.error;
  }
  const map = doc.contents;
  if (!map.has('hosts')) map.set('hosts', doc.createNode([]));
  const seq = map.get('hosts', true);
  if (!isSeq(seq)) {
    printDiagnostics(out, [{ severity: 'error', file: 'hosts.yaml', line: 1, col: 1, message: '`hosts` is not a list', hint: 'fix hosts.yaml first (`buildfleet validate`), then import again' }]);
    return ExitCode.error;
  }
  const present = new Set(
    (seq as YAMLSeq).items.flatMap((item) => {
      const name = isMap(item) ? item.get('name', true) : undefined;
      return isScalar(name) ? [String(name.value)] : [];
    }),
  );
  const clashes = hosts.filter((h) => present.has(h.name));
  if (clashes.length > 0) {
    printDiagnostics(
      out,
      clashes.map((h) => ({ severity: 'error' as const, file: mlist, line: h.line, col: 1, message: `host "${h.name}" is already in hosts.yaml`, hint: 'remove the line from the mlist, or the host from hosts.yaml, and import again' })),
    );
    return ExitCode.error;
  }
  for (const entry of entries) (seq as YAMLSeq).add(doc.createNode(entry));
  const merged = doc.toString({ lineWidth: 0 });
  // The result must be a valid hosts.yaml; nothing is written otherwise.
  const check = parseYaml('hosts.yaml', merged);
  const problems = [...check.diagnostics, ...validateAgainstSchema('hosts', check.yaml.data, check.yaml)];
  if (problems.length > 0) {
    printDiagnostics(out, problems);
    out.stderr(`${formatDiagnostic({ severity: 'error', file: 'hosts.yaml', message: 'not written: the merged file would not be valid', hint: 'fix hosts.yaml or the import options, then import again' })}\n`);
    return ExitCode.error;
  }
  try {
    await writeFileAtomic(file, merged);
  } catch (error) {
    out.stderr(`${formatDiagnostic({ severity: 'error', file: 'hosts.yaml', message: `cannot write the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`, hint: 'check that the config directory is writable' })}\n`);
    return ExitCode.error;
  }
  out.stderr(`added ${hosts.length} host(s) to hosts.yaml\n`);
  return ExitCode.ok;
}
