/** Output helpers of the CLI: documents to stdout, diagnostics to stderr. */
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
  // One write: a plan of a large tree may say a hundred things, each a system call to a pipe otherwise.
  if (diagnostics.length > 0) out.stderr(diagnostics.map((d) => `${formatDiagnostic(d)}\n`).join(''));
}
