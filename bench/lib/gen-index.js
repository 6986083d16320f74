// Generates a synthetic FreeBSD ports INDEX of N lines with the dependency degree distribution of
// the real INDEX (../shared/corpora/freebsd-INDEX-11.gz): each generated port takes the shape of a
// real port drawn at random (seeded): how many distinct ports its five dependency fields (build,
// run, extract, patch, fetch) name together, and which of them each field lists. It then draws
// that many distinct earlier ports (so the graph is acyclic), biased towards the first ports, as a
// real INDEX references a few base ports (gmake, gettext, perl) from most lines, and fills each
// field with its share of them. So both the fields' sizes and the number of distinct dependencies
// per port (the graph's degree) follow the real INDEX: a real port's run-deps mostly repeat its
// build-deps (27.9 references but 15.4 distinct ports per line). Only the shapes follow the real
// INDEX; the fields are not closures.
//
// `fields: 'independent'` is the generator before 2026-11-24: each field drawn on its own from the
// sizes alone, so build and run fields rarely share a port (26.8 distinct dependencies per line,
// 74 % more edges than the real INDEX has for as many lines). Kept to reproduce earlier figures.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { createRng } from './prng.js';

const FIELDS = [7, 8, 10, 11, 12]; // build, run, extract, patch, fetch

/**
 * Per real port, its dependency shape: `distinct`, how many ports its five dependency fields name
 * together, and `fields`, each field as positions in that list of distinct ports (in order of
 * first mention); `sizes`, each field's length.
 */
export function realDegrees(indexFile) {
  const text = zlib.gunzipSync(fs.readFileSync(indexFile)).toString('utf8');
  const degrees = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split('|');
    const position = new Map();
    const fields = FIELDS.map((i) =>
      (f[i] ? f[i].split(' ').filter(Boolean) : []).map((word) => {
        if (!position.has(word)) position.set(word, position.size);
        return position.get(word);
      }),
    );
    degrees.push({ distinct: position.size, fields, sizes: fields.map((positions) => positions.length) });
  }
  return degrees;
}

/** `want` distinct ports below `i`, biased towards early ports (u^3): a few base ports are everybody's dependency. */
function pick(rng, i, want) {
  const picked = new Set();
  while (picked.size < want) picked.add(Math.floor(i * rng.next() ** 3));
  return [...picked];
}

const CATEGORIES = ['archivers', 'audio', 'databases', 'devel', 'editors', 'graphics', 'lang', 'math', 'misc', 'net', 'print', 'security', 'shells', 'sysutils', 'textproc', 'www', 'x11', 'x11-toolkits'];

/** The INDEX text; `meta.packages[i]` holds origin, pkgname and the target indices (for the repo index). */
export function generateIndex({ count, degrees, seed = 1, fields: mode = 'shared' }) {
  if (mode !== 'shared' && mode !== 'independent') throw new Error(`generateIndex: fields must be 'shared' or 'independent', not ${mode}`);
  const rng = createRng(`buildfleet-index:${seed}`);
  const lines = [];
  const packages = [];
  for (let i = 0; i < count; i++) {
    const category = CATEGORIES[i % CATEGORIES.length];
    const origin = `${category}/port${i}`;
    const pkgname = `port${i}-${1 + (i % 7)}.${i % 13}${i % 5 === 0 ? `_${1 + (i % 3)}` : ''}${i % 97 === 0 ? ',1' : ''}`;
    const shape = degrees[Math.floor(rng.next() * degrees.length)];
    let fields;
    if (mode === 'independent') fields = shape.sizes.map((size) => pick(rng, i, Math.min(size, i)));
    else {
      // An early line has fewer ports to depend on: positions past them are left out.
      const ports = pick(rng, i, Math.min(shape.distinct, i));
      fields = shape.fields.map((positions) => positions.filter((p) => p < ports.length).map((p) => ports[p]));
    }
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
