import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPlainIndex } from '../../src/observe/plainRepo.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function repoWith(index: Buffer): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-plainrepo-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'index.json'), index);
  return dir;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const entry = { name: 'caf\u00e9', version: '1.0-1', file: 'cafe-1.0-1.tar.gz', sha256: 'a'.repeat(64), size: 3, depends: [], provides: [], fingerprint: 'f'.repeat(64), description: 'na\u00efve' };

describe('readPlainIndex', () => {
  it('reads the entries and digests the index as the UTF-8 text it is', () => {
    const text = JSON.stringify({ formatVersion: 1, packages: [entry] });
    const { entries, digest, diagnostics } = readPlainIndex(repoWith(Buffer.from(text)), 'repo');
    expect(diagnostics).toEqual([]);
    expect(entries.get('caf\u00e9')).toEqual(entry);
    expect(digest).toBe(sha256(text));
  });

  it('digests an index that is not UTF-8 as the text it decodes to (U+FFFD for the bad bytes)', () => {
    const bytes = Buffer.from(JSON.stringify({ formatVersion: 1, packages: [{ ...entry, description: 'naXve' }] }));
    bytes[bytes.indexOf('naXve') + 2] = 0xef; // a lone lead byte
    const { entries, digest } = readPlainIndex(repoWith(bytes), 'repo');
    expect(entries.get('caf\u00e9')?.description).toBe('na\ufffdve');
    expect(digest).toBe(sha256(bytes.toString('utf8')));
    expect(digest).not.toBe(sha256(bytes));
  });

  it('takes a missing index for an empty repository, and a malformed one for an error', () => {
    expect(readPlainIndex(path.join(os.tmpdir(), 'buildfleet-no-such-repo'), 'repo')).toEqual({ entries: new Map(), digest: '', diagnostics: [] });
    const { diagnostics } = readPlainIndex(repoWith(Buffer.from('{"formatVersion":1,')), 'repo');
    expect(diagnostics.map((d) => [d.severity, d.file])).toEqual([['error', 'repo/index.json']]);
    expect(diagnostics[0]!.message).toMatch(/not valid JSON/);
  });
});
