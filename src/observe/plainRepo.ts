/**
 * Reads a plain repository's index.json. A missing repository is an empty one;
 * an unreadable or malformed index is an error (planning over it could prune or
 * rebuild everything).
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../model/canonical.js';
import { isRecord } from '../model/json.js';
import type { Diagnostic } from '../config/diagnostic.js';
import type { RepoEntry } from './types.js';

export const INDEX_FILE = 'index.json';
export const INDEX_FORMAT_VERSION = 1;

export interface PlainIndex {
  readonly formatVersion: typeof INDEX_FORMAT_VERSION;
  readonly packages: readonly RepoEntry[];
}

export function readPlainIndex(repoPath: string, displayPath: string): { entries: Map<string, RepoEntry>; digest: string; diagnostics: Diagnostic[] } {
  const file = path.join(repoPath, INDEX_FILE);
  const display = `${displayPath}/${INDEX_FILE}`;
  const entries = new Map<string, RepoEntry>();
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries, digest: '', diagnostics: [] };
    return { entries, digest: '', diagnostics: [{ severity: 'error', file: display, message: `cannot read the repository index (${(error as NodeJS.ErrnoException).code ?? String(error)})`, hint: 'check the permissions of the repository directory' }] };
  }
  // The digest is of the text as UTF-8: the bytes themselves when they are UTF-8 (as buildfleet
  // writes them; hashing the bytes spares encoding a copy of a 10 MB text), else the decoded text's.
  // ASCII (what buildfleet writes unless a description is not) is UTF-8 and decodes byte for byte.
  const ascii = isAscii(bytes);
  const text = bytes.toString(ascii ? 'latin1' : 'utf8');
  const digest = sha256Hex(ascii || isUtf8(bytes) ? bytes : text);
  const fail = (message: string): { entries: Map<string, RepoEntry>; digest: string; diagnostics: Diagnostic[] } => ({
    entries,
    digest,
    diagnostics: [{ severity: 'error', file: display, message, hint: 'restore the index from a backup, or move the repository aside so that buildfleet starts it afresh' }],
  });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return fail(`the repository index is not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(data) || data.formatVersion !== INDEX_FORMAT_VERSION || !Array.isArray(data.packages)) {
    return fail(`the repository index is not a formatVersion ${INDEX_FORMAT_VERSION} buildfleet index`);
  }
  const packages: unknown[] = data.packages;
  for (let i = 0; i < packages.length; i++) {
    const entry = packages[i] as Partial<RepoEntry> | null;
    if (entry === null || typeof entry !== 'object' || typeof entry.name !== 'string' || typeof entry.version !== 'string' || typeof entry.file !== 'string') {
      return fail(`package ${i + 1} of the repository index lacks a name, version or file`);
    }
    // Entries written by buildfleet are complete: keep them as parsed; complete others.
    const complete =
      typeof entry.sha256 === 'string' && typeof entry.size === 'number' && Array.isArray(entry.depends) && Array.isArray(entry.provides) && typeof entry.fingerprint === 'string';
    entries.set(
      entry.name,
      complete
        ? (entry as RepoEntry)
        : {
            name: entry.name,
            version: entry.version,
            file: entry.file,
            sha256: typeof entry.sha256 === 'string' ? entry.sha256 : '',
            size: typeof entry.size === 'number' ? entry.size : 0,
            depends: Array.isArray(entry.depends) ? entry.depends : [],
            provides: Array.isArray(entry.provides) ? entry.provides : [],
            fingerprint: typeof entry.fingerprint === 'string' ? entry.fingerprint : '',
            ...(typeof entry.description === 'string' ? { description: entry.description } : {}),
            ...(typeof entry.recipe === 'string' ? { recipe: entry.recipe } : {}),
          },
    );
  }
  return { entries, digest, diagnostics: [] };
}

/** A name inside the repository directory: no path separator, not `.` or `..`, no NUL. */
export function isPlainFileName(file: string): boolean {
  return file !== '' && file !== '.' && file !== '..' && !file.includes('/') && !file.includes('\0');
}
