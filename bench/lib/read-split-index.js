#!/usr/bin/env node
// Baseline of bench/plan-index.js: reads an INDEX file (gunzipping a .gz one) and splits every
// line into its fields and every dependency field into pkgnames — the least any INDEX reader does.
//   node bench/lib/read-split-index.js <INDEX file>
import fs from 'node:fs';
import zlib from 'node:zlib';

const file = process.argv[2];
const data = fs.readFileSync(file);
const text = (file.endsWith('.gz') ? zlib.gunzipSync(data) : data).toString('utf8');
let fields = 0;
let deps = 0;
for (const line of text.split('\n')) {
  if (line === '') continue;
  const f = line.split('|');
  fields += f.length;
  for (const i of [7, 8, 10, 11, 12]) if (f[i]) deps += f[i].split(' ').length;
}
process.stdout.write(`${fields} fields, ${deps} dependency references\n`);
