/**
 * Duds files as FreeBSD's portbuild kept them: a plain list, one package (or
 * origin `category/port`) per line, `#` starting a comment, blank lines ignored.
 * A comment after an entry is its reason. Used by a branch's `dudsFile:` and by
 * `buildfleet import duds`.
 */
import type { Diagnostic } from './diagnostic.js';

/** One entry of a duds file. */
export interface DudsFileEntry {
  /** Package name or origin, as written. */
  readonly package: string;
  /** The comment after the entry, or undefined. */
  readonly reason?: string;
  /** 1-based line and column of the entry. */
  readonly line: number;
  readonly col: number;
}

/** A package name, or a FreeBSD origin `category/port`. */
export const DUD_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9@._+-]*(\/[A-Za-z0-9][A-Za-z0-9@._+-]*)?$/;

/** Parses a duds file's text; every bad line gives a located error. Entries listed twice are kept once (the first). */
export function parseDudsFile(text: string, displayFile: string): { entries: DudsFileEntry[]; diagnostics: Diagnostic[] } {
  const entries: DudsFileEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const hash = raw.indexOf('#');
    const body = hash >= 0 ? raw.slice(0, hash) : raw;
    const trimmed = body.trim();
    if (trimmed === '') continue;
    const col = body.indexOf(trimmed) + 1;
    const words = trimmed.split(/\s+/);
    const name = words[0]!;
    if (words.length > 1) {
      diagnostics.push({
        severity: 'error',
        file: displayFile,
        line: i + 1,
        col: col + trimmed.indexOf(words[1]!),
        message: `one dud per line: "${words[1]}" follows "${name}"`,
        hint: 'put each package on a line of its own; write a reason as a # comment after it',
      });
      continue;
    }
    if (!DUD_NAME_PATTERN.test(name)) {
      diagnostics.push({
        severity: 'error',
        file: displayFile,
        line: i + 1,
        col,
        message: `"${name}" is not a package name or origin`,
        hint: 'write a package name (letters, digits and @._+-) or a FreeBSD origin category/port',
      });
      continue;
    }
    if (seen.has(name)) continue;
    seen.add(name);
    const reason = hash >= 0 ? raw.slice(hash + 1).trim() : '';
    entries.push({ package: name, ...(reason !== '' ? { reason } : {}), line: i + 1, col });
  }
  return { entries, diagnostics };
}
