/**
 * Canonical JSON (object keys sorted, no whitespace) and sha256: the basis of
 * fingerprints and state digests, so that equal data always hashes equal.
 */
import { createHash, hash } from 'node:crypto';

/**
 * A list of strings already written as canonical JSON (what JSON.stringify writes for the array),
 * as UTF-8 bytes. A branch's 35,000 `id:fingerprint` lines are written so, once, and hashed from
 * those bytes: no string per line, and no 6 MB string of them all.
 */
export class CanonicalJsonBytes {
  constructor(readonly bytes: Uint8Array) {}
}

/** Canonical JSON being written: the text so far, after the runs of bytes (CanonicalJsonBytes) met before it. */
interface Writer {
  text: string;
  readonly runs: (string | Uint8Array)[];
}

function write(value: unknown, w: Writer): void {
  if (value instanceof CanonicalJsonBytes) {
    if (w.text !== '') w.runs.push(w.text);
    w.runs.push(value.bytes);
    w.text = '';
    return;
  }
  if (value === null || typeof value !== 'object') {
    w.text += JSON.stringify(value) ?? 'null';
    return;
  }
  if (Array.isArray(value)) {
    // An array of strings (a branch's 35,000 `id:fingerprint` lines) is what JSON.stringify writes.
    if (value.every((item) => typeof item === 'string')) {
      w.text += JSON.stringify(value);
      return;
    }
    w.text += '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (i > 0) w.text += ',';
      write(item === undefined ? null : item, w);
    }
    w.text += ']';
    return;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  w.text += '{';
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    w.text += `${first ? '' : ','}${JSON.stringify(key)}:`;
    if (typeof item === 'string') w.text += JSON.stringify(item);
    else write(item, w);
    first = false;
  }
  w.text += '}';
}

export function canonicalJson(value: unknown): string {
  const w: Writer = { text: '', runs: [] };
  write(value, w);
  if (w.runs.length === 0) return w.text;
  return [...w.runs.map((run) => (typeof run === 'string' ? run : Buffer.from(run.buffer, run.byteOffset, run.byteLength).toString('utf8'))), w.text].join('');
}

export function sha256Hex(data: string | Uint8Array): string {
  return hash('sha256', data, 'hex');
}

/** sha256Hex(canonicalJson(value)), hashing the runs of CanonicalJsonBytes as they are. */
export function hashCanonical(value: unknown): string {
  const w: Writer = { text: '', runs: [] };
  write(value, w);
  if (w.runs.length === 0) return sha256Hex(w.text);
  const digest = createHash('sha256');
  for (const run of w.runs) digest.update(run);
  digest.update(w.text);
  return digest.digest('hex');
}
