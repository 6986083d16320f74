/** Output helpers of the CLI: documents to stdout, diagnostics to stderr, atomic file writes. */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { formatDiagnostic, type Diagnostic } from '../config/diagnostic.js';

export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processOutput: Output = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

export function printDiagnostics(out: Output, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) out.stderr(`${formatDiagnostic(d)}\n`);
}

/** Writes a file so that a reader sees the old content or the whole new one, never a part. */
export function writeFileAtomic(file: string, content: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w', 0o644);
    writeSync(fd, content);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was left behind
    }
    throw error;
  }
}
