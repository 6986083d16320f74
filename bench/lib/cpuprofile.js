// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by file.
//
//   node bench/lib/cpuprofile.js <file.cpuprofile>… [top]
// (a process with worker threads writes one profile per thread)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function shortUrl(url) {
  if (!url) return '(native)';
  const p = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = p.lastIndexOf('node_modules/');
  if (nm >= 0) return p.slice(nm + 'node_modules/'.length);
  const dist = p.lastIndexOf('/dist/');
  if (dist >= 0) return p.slice(dist + 1);
  return p;
}

export function summarizeCpuProfile(profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((s, x) => s + x, 0);
  const byFunction = new Map();
  const byFile = new Map();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const file = shortUrl(url);
    const fn = `${functionName || '(anonymous)'} ${file}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const group = url ? file : `(${functionName})`;
    byFile.set(group, (byFile.get(group) ?? 0) + us);
  }
  // Inclusive (total) time: each sample counts once for every distinct function on its stack.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (id) => {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    return `${functionName || '(anonymous)'} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`;
  };
  const inclusive = new Map();
  for (const [id, us] of selfUs) {
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const k = keyOf(at);
      if (!seen.has(k)) {
        seen.add(k);
        inclusive.set(k, (inclusive.get(k) ?? 0) + us);
      }
    }
  }
  const rank = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, percent: (100 * us) / total }));
  const product = new Map([...inclusive].filter(([k]) => k.includes(' dist/')));
  return { totalMs: total / 1000, functions: rank(byFunction), files: rank(byFile), inclusiveProduct: rank(product) };
}

export function formatSummary(s) {
  const line = (r) => `${r.ms.toFixed(0).padStart(7)} ms ${r.percent.toFixed(1).padStart(5)}%  ${r.name}`;
  return [
    `total sampled: ${s.totalMs.toFixed(0)} ms`,
    'self time by function:',
    ...s.functions.map(line),
    'self time by file:',
    ...s.files.map(line),
    'total time (self + callees) of the product\'s functions (dist/):',
    ...s.inclusiveProduct.map(line),
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const files = args.filter((a) => !/^\d+$/.test(a));
  const top = Number(args.find((a) => /^\d+$/.test(a)) ?? 25);
  if (files.length === 0) {
    process.stderr.write('usage: node bench/lib/cpuprofile.js <file.cpuprofile>… [top]\n');
    process.exitCode = 1;
  }
  for (const file of files) {
    process.stdout.write(`== ${file}\n${formatSummary(summarizeCpuProfile(JSON.parse(fs.readFileSync(file, 'utf8')), top))}\n`);
  }
}
