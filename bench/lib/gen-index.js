// Generates a synthetic FreeBSD ports INDEX of N lines with the dependency degree distribution of
// the real INDEX (../shared/corpora/freebsd-INDEX-11.gz): each generated port takes the five
// dependency-field sizes (build, run, extract, patch, fetch) of a real port drawn at random (seeded),
// and fills each field with that many distinct earlier ports (so the graph is acyclic), drawn with a
// bias towards the first ports, as a real INDEX references a few base ports (gmake, gettext, perl)
// from most lines. Only the sizes follow the real INDEX; the fields are not closures.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { createRng } from './prng.js';

const FIELDS = [7, 8, 10, 11, 12]; // build, run, extract, patch, fetch

/** Per real port: the sizes of its five dependency fields. */
export function realDegrees(indexFile) {
  const text = zlib.gunzipSync(fs.readFileSync(indexFile)).toString('utf8');
  const degrees = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split('|');
    degrees.push(FIELDS.map((i) => (f[i] ? f[i].split(' ').filter(Boolean).length : 0)));
  }
  return degrees;
}

const CATEGORIES = ['archivers', 'audio', 'databases', 'devel', 'editors', 'graphics', 'lang', 'math', 'misc', 'net', 'print', 'security', 'shells', 'sysutils', 'textproc', 'www', 'x11', 'x11-toolkits'];

/** The INDEX text; `meta.packages[i]` holds origin, pkgname and the target indices (for the repo index). */
export function generateIndex({ count, degrees, seed = 1 }) {
  const rng = createRng(`buildfleet-index:${seed}`);
  const lines = [];
  const packages = [];
  for (let i = 0; i < count; i++) {
    const category = CATEGORIES[i % CATEGORIES.length];
    const origin = `${category}/port${i}`;
    const pkgname = `port${i}-${1 + (i % 7)}.${i % 13}${i % 5 === 0 ? `_${1 + (i % 3)}` : ''}${i % 97 === 0 ? ',1' : ''}`;
    const sizes = degrees[Math.floor(rng.next() * degrees.length)];
    const fields = sizes.map((size) => {
      const want = Math.min(size, i);
      const picked = new Set();
      // Biased towards early ports (u^3): a few base ports are everybody's dependency.
      while (picked.size < want) picked.add(Math.floor(i * rng.next() ** 3));
      return [...picked];
    });
    packages.push({ origin, pkgname, runTargets: fields[1], buildTargets: [...fields[0], ...fields[2], ...fields[3], ...fields[4]] });
    lines.push(fields);
  }
  const text = lines
    .map((fields, i) => {
      const p = packages[i];
      const deps = fields.map((targets) => targets.map((t) => packages[t].pkgname).join(' '));
      return [p.pkgname, `/usr/ports/${p.origin}`, '/usr/local', `Synthetic port ${i}`, `/usr/ports/${p.origin}/pkg-descr`, 'ports@FreeBSD.org', p.origin.split('/')[0], deps[0], deps[1], `https://example.org/port${i}/`, deps[2], deps[3], deps[4]].join('|');
    })
    .join('\n');
  return { text: `${text}\n`, packages };
}
