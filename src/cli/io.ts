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
  for (const d of diagnostics) out.stderr(`${formatDiagnostic(d)}\n`);
}
