/**
 * `buildfleet vercmp [--scheme S] [A B]`: prints -1, 0 or 1 as pacman's `vercmp`
 * does. Without operands it reads `A B` pairs from standard input, one per line,
 * and prints one result per line; a bad line is an error with its line number,
 * and then nothing is printed on stdout (output lines must match input lines).
 */
import type { Readable } from 'node:stream';
import { formatDiagnostic, type Diagnostic } from '../../config/diagnostic.js';
import { VERSION_SCHEMES, type VersionScheme } from '../../version/schemes.js';
import { ExitCode } from '../exitCodes.js';
import type { Output } from '../io.js';

export interface VercmpOptions {
  readonly scheme: VersionScheme;
  /** The operands: none (read stdin) or two versions. */
  readonly operands: readonly string[];
}

const sign = (n: number): -1 | 0 | 1 => (n < 0 ? -1 : n > 0 ? 1 : 0);

export async function runVercmp(options: VercmpOptions, stdin: Readable, out: Output): Promise<ExitCode> {
  const compare = VERSION_SCHEMES[options.scheme];
  if (options.operands.length === 2) {
    out.stdout(`${sign(compare(options.operands[0]!, options.operands[1]!))}\n`);
    return ExitCode.ok;
  }
  if (options.operands.length !== 0) {
    out.stderr(
      formatDiagnostic({ severity: 'error', file: 'vercmp', message: `${options.operands.length} version(s) given; vercmp compares two`, hint: 'run `buildfleet vercmp A B`, or give no operands and write "A B" lines to standard input' }) + '\n',
    );
    return ExitCode.error;
  }
  stdin.setEncoding('utf8');
  const results: string[] = [];
  const errors: Diagnostic[] = [];
  let pending = '';
  let lineNo = 0;
  const handle = (line: string): void => {
    lineNo++;
    const fields = line.trim().split(/[ \t]+/);
    if (fields.length !== 2 || fields[0] === '') {
      errors.push({
        severity: 'error',
        file: '<stdin>',
        line: lineNo,
        message: `expected two versions separated by whitespace, found ${fields[0] === '' ? 'an empty line' : `${fields.length} field(s)`}`,
        hint: 'write one "A B" pair per line',
      });
      return;
    }
    results.push(String(sign(compare(fields[0]!, fields[1]!))));
  };
  for await (const chunk of stdin) {
    pending += chunk as string;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      handle(pending.slice(0, nl).replace(/\r$/, ''));
      pending = pending.slice(nl + 1);
    }
  }
  if (pending !== '') handle(pending.replace(/\r$/, ''));
  if (errors.length > 0) {
    for (const e of errors) out.stderr(`${formatDiagnostic(e)}\n`);
    return ExitCode.error;
  }
  if (results.length > 0) out.stdout(`${results.join('\n')}\n`);
  return ExitCode.ok;
}
