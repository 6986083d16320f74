// Writes the plain repository index (<config dir>/repo/index.json) of a generated tree so that a
// chosen fraction of the packages is up to date, from the fingerprints the product itself computed.
//
// Input: the plan the product printed for the same tree with an *empty* repository, where every
// recipe has a `build` action carrying its `fingerprint`, `version` and `packages`.
// The stale part is physically consistent with `rebuild: transitive`: it is made of whole
// "dependent closures". Roots are drawn in a seeded random order; a root's closure (the root and
// every package that depends on it, at run or build time, transitively) is taken when it still
// fits in the stale budget, so popular libraries (huge closures) are mostly passed over and the
// budget ends up filled by smaller closures and leaves. A root gets an older version and another
// fingerprint (the planner should say version-changed); the rest of its closure keeps its version
// with another fingerprint (built against the old root: dependency-changed or inputs-changed).
// No artifact files are created: sha256 and size are fake, the planner only reads index.json.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRng } from './prng.js';

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** `1.6.3-1` → `1.6.2-1` (generated upstream versions end in a number >= 1). */
export function olderVersion(full) {
  const dash = full.lastIndexOf('-');
  const upstream = dash > 0 ? full.slice(0, dash) : full;
  const release = dash > 0 ? full.slice(dash) : '';
  const m = /^(.*?)(\d+)$/.exec(upstream);
  if (m && Number(m[2]) > 0) return `${m[1]}${Number(m[2]) - 1}${release}`;
  return `0.${upstream}${release}`;
}

/** Build actions of the first branch, by recipe id; throws unless every package has one. */
export function buildActionsOf(plan, names) {
  const branch = plan?.branches?.[0];
  if (!branch) throw new Error('the plan has no branch');
  const byId = new Map();
  for (const a of branch.actions) if (a.type === 'build') byId.set(a.package, a);
  const missing = names.filter((n) => !byId.has(n));
  if (missing.length > 0) {
    const other = branch.actions.find((a) => a.package === missing[0]);
    throw new Error(`${missing.length} packages have no build action in the empty-repo plan, e.g. ${missing[0]}: ${JSON.stringify(other ?? null)}`);
  }
  for (const a of byId.values()) {
    if (typeof a.fingerprint !== 'string' || a.fingerprint.length === 0) throw new Error(`build action for ${a.package} has no fingerprint`);
  }
  return byId;
}

/** Chooses the stale packages (indices into meta.packages): whole dependent closures, `budget` in all. */
export function chooseStale(meta, budget, seed) {
  const n = meta.packages.length;
  const dependents = Array.from({ length: n }, () => []);
  meta.packages.forEach((p, i) => {
    for (const t of p.runTargets) dependents[t].push(i);
    for (const t of p.buildTargets) dependents[t].push(i);
  });
  const rng = createRng(`buildfleet-stale:${seed}`);
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const stale = new Map(); // index -> 'root' | 'dependent'
  for (const root of order) {
    if (stale.size >= budget) break;
    if (stale.has(root)) continue;
    const closure = [root];
    const seen = new Set(closure);
    for (let k = 0; k < closure.length && stale.size + closure.length <= budget; k++) {
      for (const d of dependents[closure[k]]) {
        if (!seen.has(d)) {
          seen.add(d);
          closure.push(d);
        }
      }
    }
    const fresh = closure.filter((i) => !stale.has(i));
    if (stale.size + fresh.length > budget) continue;
    // A closure touching an already stale package is fine: that package stays as it was marked.
    for (const i of fresh) stale.set(i, i === root ? 'root' : 'dependent');
  }
  return stale;
}

/**
 * Writes <dir>/repo/index.json. `meta` is bench-meta.json of the tree, `plan` the empty-repo plan.
 * Returns { packages, upToDate, staleRoots, staleDependents }.
 */
export function writeRepoIndex({ dir, meta, plan, upToDateFraction = 0.9, seed = meta.seed }) {
  const names = meta.packages.map((p) => p.name);
  const actions = buildActionsOf(plan, names);
  const budget = names.length - Math.round(names.length * upToDateFraction);
  const stale = chooseStale(meta, budget, seed);
  const packages = [];
  meta.packages.forEach((p, i) => {
    const action = actions.get(p.name);
    const kind = stale.get(i);
    const version = kind === 'root' ? olderVersion(action.version) : action.version;
    const fingerprint = kind ? sha256(`stale:${action.fingerprint}`) : action.fingerprint;
    for (const name of action.packages ?? [p.name]) {
      const file = `${name}-${version}.tar.gz`;
      packages.push({
        name,
        version,
        file,
        sha256: sha256(`artifact:${file}`),
        size: 4096 + (parseInt(fingerprint.slice(0, 6), 16) % 1_000_000),
        depends: p.depends,
        provides: p.provides,
        fingerprint,
        recipe: p.name,
      });
    }
  });
  packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const target = path.join(dir, 'repo', 'index.json');
  const tmp = `${target}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify({ formatVersion: 1, packages })}\n`);
  fs.renameSync(tmp, target);
  let roots = 0;
  for (const k of stale.values()) if (k === 'root') roots++;
  return { packages: packages.length, upToDate: names.length - stale.size, staleRoots: roots, staleDependents: stale.size - roots };
}

/** Empties <dir>/repo/index.json (a repository with nothing published). */
export function writeEmptyIndex(dir) {
  fs.writeFileSync(path.join(dir, 'repo', 'index.json'), `${JSON.stringify({ formatVersion: 1, packages: [] })}\n`);
}
