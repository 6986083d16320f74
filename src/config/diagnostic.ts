/**
 * A located problem in a config, recipe or state file. Expected failures are values
 * of this type; only bugs throw.
 */
export type Severity = 'error' | 'warning';

export interface Diagnostic {
  readonly severity: Severity;
  /** Path of the file, as shown to the user (relative to the config directory when inside it). */
  readonly file: string;
  /** 1-based line; absent when the problem is with the file as a whole. */
  readonly line?: number;
  /** 1-based column. */
  readonly col?: number;
  /** What is wrong, in one sentence without a final period. */
  readonly message: string;
  /** What to do about it. */
  readonly hint?: string;
}

/** Longest string quoted whole in a message; longer ones are cut (a 64 KiB value makes no readable error). */
const QUOTED_MAX = 80;

/** `value` as a JSON string, cut to its first 80 characters with its length said when longer. */
export function quoteShort(value: string): string {
  if (value.length <= QUOTED_MAX) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, QUOTED_MAX)).slice(0, -1)}…" (${value.length} characters)`;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** `file:line:col: error: message` then an indented `hint:` line. */
export function formatDiagnostic(d: Diagnostic): string {
  // A file name holding a newline or another control character is quoted, so that the message stays one line.
  const file = hasControlCharacter(d.file) ? JSON.stringify(d.file) : d.file;
  const where = d.line !== undefined ? `${file}:${d.line}:${d.col ?? 1}` : file;
  const head = `${where}: ${d.severity}: ${d.message}`;
  return d.hint !== undefined ? `${head}\n  hint: ${d.hint}` : head;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Stable order: by file, line, column, then message. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      compareText(a.file, b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.col ?? 0) - (b.col ?? 0) ||
      compareText(a.message, b.message),
  );
}

/** Code-unit order: the same on every machine, whatever the locale. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Expected failures as data: `{ ok: true, value }` or `{ ok: false, error }`. */
export type Result<T, E = Diagnostic[]> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };
