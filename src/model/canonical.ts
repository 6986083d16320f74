/**
 * Canonical JSON (object keys sorted, no whitespace) and sha256: the basis of
 * fingerprints and state digests, so that equal data always hashes equal.
 */
import { hash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    // An array of strings (a branch's 35,000 `id:fingerprint` lines) is what JSON.stringify writes.
    if (value.every((item) => typeof item === 'string')) return JSON.stringify(value);
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      out += (i > 0 ? ',' : '') + canonicalJson(item === undefined ? null : item);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${typeof item === 'string' ? JSON.stringify(item) : canonicalJson(item)}`;
    first = false;
  }
  return `${out}}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return hash('sha256', data, 'hex');
}

export function hashCanonical(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
