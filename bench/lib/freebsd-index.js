// Reads the real FreeBSD ports INDEX from the shared corpora and derives the empirical
// distributions the recipe generator samples from: per-port (run deps, build deps) degree
// pairs, first categories, name words and one-line comments.
//
// INDEX lines have 13 `|`-separated fields: pkgname, path (origin), prefix, comment, descr,
// maintainer, categories, build-deps, run-deps, www, extract-deps, patch-deps, fetch-deps.
// The dependency fields of an INDEX are *closures*: a port's run-deps hold the run-deps of its
// run-deps, and its build-deps hold the run-deps of its build tools. A recipe declares only
// direct dependencies, so `direct` degrees come from a transitive reduction:
//   direct run dep  d of P: d ∈ R(P) and no other e ∈ R(P) has d ∈ R(e);
//   direct build dep d of P: d ∈ B(P) \ R(P) and no other e ∈ B(P) ∪ R(P) has d ∈ R(e).
// `index` degrees are the closure sizes as written, (|R(P)|, |B(P) \ R(P)|): an upper bound.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function defaultIndexPath() {
  // ../shared/corpora from main, ../../shared/corpora from a worktree under /work/wt/.
  const candidates = [path.resolve(projectRoot, '..', 'shared', 'corpora'), path.resolve(projectRoot, '..', '..', 'shared', 'corpora')];
  const corpora = process.env.BUILDFLEET_CORPORA ?? candidates.find((p) => fs.existsSync(p)) ?? candidates[0];
  return path.join(corpora, 'freebsd-INDEX-11.gz');
}

const splitList = (field) => (field ? field.split(' ').filter(Boolean) : []);

/** Strips the version from a pkgname (`gettext-0.19.3` → `gettext`) and keeps [A-Za-z0-9]. */
function wordOf(pkgname) {
  const dash = pkgname.lastIndexOf('-');
  const base = dash > 0 ? pkgname.slice(0, dash) : pkgname;
  return base.replace(/[^A-Za-z0-9]/g, '').toLowerCase();
}

export function loadFreebsdIndex(file = defaultIndexPath()) {
  const text = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8');
  const ports = new Map();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split('|');
    if (f.length !== 13) throw new Error(`${file}: expected 13 fields, got ${f.length}: ${line.slice(0, 80)}`);
    ports.set(f[0], {
      name: f[0],
      comment: f[3],
      categories: splitList(f[6]),
      build: new Set(splitList(f[7])),
      run: new Set(splitList(f[8])),
    });
  }
  const runOf = (name) => ports.get(name)?.run ?? new Set();

  const direct = [];
  const closure = [];
  const categories = [];
  const words = new Set();
  const comments = [];
  let runClosureSum = 0;
  for (const p of ports.values()) {
    const run = [...p.run];
    const directRun = run.filter((d) => !run.some((e) => e !== d && runOf(e).has(d)));
    const buildOnly = [...p.build].filter((d) => !p.run.has(d));
    const all = [...new Set([...p.build, ...p.run])];
    const directBuild = buildOnly.filter((d) => !all.some((e) => e !== d && runOf(e).has(d)));
    direct.push([directRun.length, directBuild.length]);
    closure.push([p.run.size, buildOnly.length]);
    runClosureSum += p.run.size;
    categories.push(p.categories[0] ?? 'misc');
    const w = wordOf(p.name);
    if (w) words.add(w);
    if (p.comment) comments.push(p.comment);
  }
  const mean = (pairs, i) => pairs.reduce((s, x) => s + x[i], 0) / pairs.length;
  return {
    file,
    ports: ports.size,
    degreePairs: { direct, index: closure },
    categories,
    words: [...words].sort(),
    comments,
    stats: {
      meanDirectRun: mean(direct, 0),
      meanDirectBuild: mean(direct, 1),
      meanIndexRun: mean(closure, 0),
      meanIndexBuild: mean(closure, 1),
      meanRunClosure: runClosureSum / ports.size,
    },
  };
}
