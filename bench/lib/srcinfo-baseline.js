#!/usr/bin/env node
// The srcinfo plan benchmark's baseline: the least any planner of a .SRCINFO tree must do.
// Walks <tree>, reads every file of every pkgbase directory (recursively) and splits each
// .SRCINFO into its `key = value` lines (section starts at pkgbase/pkgname), then discards
// everything. One process, one thread, synchronous I/O.
//
//   node bench/lib/srcinfo-baseline.js <tree>
// prints `{"dirs":N,"files":M,"bytes":B,"fields":F,"packages":P}` on stdout.
import fs from 'node:fs';
import path from 'node:path';

function split(text, counts) {
  let section = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf(' = ');
    const key = eq < 0 ? line : line.slice(0, eq);
    const value = eq < 0 ? '' : line.slice(eq + 3);
    if (key === 'pkgbase' || key === 'pkgname') {
      section = { name: value, fields: new Map() };
      if (key === 'pkgname') counts.packages++;
      continue;
    }
    if (section === null) continue;
    const list = section.fields.get(key);
    if (list === undefined) section.fields.set(key, [value]);
    else list.push(value);
    counts.fields++;
  }
}

function readDir(dir, counts) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) readDir(file, counts);
    else if (entry.isFile()) {
      counts.files++;
      if (entry.name === '.SRCINFO') {
        const text = fs.readFileSync(file, 'utf8');
        counts.bytes += text.length;
        split(text, counts);
      } else counts.bytes += fs.readFileSync(file).length;
    }
  }
}

export function readAndSplit(root) {
  const counts = { dirs: 0, files: 0, bytes: 0, fields: 0, packages: 0 };
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    counts.dirs++;
    readDir(path.join(root, entry.name), counts);
  }
  return counts;
}

const [root] = process.argv.slice(2);
if (!root) {
  process.stderr.write('usage: node bench/lib/srcinfo-baseline.js <tree>\n');
  process.exitCode = 1;
} else {
  process.stdout.write(`${JSON.stringify(readAndSplit(root))}\n`);
}
