/**
 * ArtifactCache.lookup over a damaged `result.json`: the build is not in the cache (built again),
 * never a TypeError, and never a package file named outside the entry.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactCache, CACHE_RESULT_FILE } from '../../src/execute/artifactCache.js';
import { testdir } from '../helpers/testdir.js';

const FINGERPRINT = 'a'.repeat(64);

describe('ArtifactCache.lookup', () => {
  it('finds a stored build, and takes a damaged result.json for no build', async () => {
    const dir = testdir({ 'out/zlib-1.3-1.tar.gz': 'zlib\n', 'secret': 'not a package\n' });
    const cache = new ArtifactCache(path.join(dir, 'artifacts'));
    const stored = await cache.store(
      { branch: 'main', recipe: 'zlib', version: '1.3-1', fingerprint: FINGERPRINT, host: 'local', seconds: 1, log: 'zlib.log', builtAt: '2026-11-24T10:00:00Z' },
      [{ name: 'zlib', file: 'zlib-1.3-1.tar.gz', path: path.join(dir, 'out/zlib-1.3-1.tar.gz') }],
    );
    expect(await cache.lookup(FINGERPRINT)).toEqual(stored);
    const resultFile = path.join(cache.entryDir(FINGERPRINT), CACHE_RESULT_FILE);
    const good = JSON.parse(readFileSync(resultFile, 'utf8')) as Record<string, unknown>;
    const secret = { name: 'zlib', file: '../../secret', sha256: 'x', size: 14 };
    for (const damaged of ['null', '[]', JSON.stringify({ ...good, packages: null }), JSON.stringify({ ...good, packages: [null] }), JSON.stringify({ ...good, packages: [secret] }), JSON.stringify({ ...good, host: 7 })]) {
      writeFileSync(resultFile, damaged);
      expect(await cache.lookup(FINGERPRINT)).toBeUndefined();
    }
  });
});
