#!/usr/bin/env node
// The plan benchmark's baseline: the least any planner of a native recipe tree must do.
// Walks <config dir>/recipes/, reads every file of every recipe directory (recursively) and
// YAML-parses each recipe.yaml with the `yaml` package's parse() (the parser the product uses),
// then discards everything. One process, one thread, synchronous I/O (the fastest way for many
// small files in one Node thread here: fs.promises with 64 reads in flight was 4x slower).
// With --parser js-yaml it parses with js-yaml's load() instead (the product's fast path for
// recipes since it gained one; a stricter baseline).
//
//   node bench/lib/read-parse-baseline.js <config dir> [--parser yaml|js-yaml]
// prints `{"recipes":N,"files":M,"bytes":B,"parser":P}` on stdout.
import fs from 'node:fs';
import path from 'node:path';
import { parse as yamlParse } from 'yaml';

let parse = yamlParse;

function readTree(dir, counts) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      readTree(file, counts);
    } else if (entry.isFile()) {
      counts.files++;
      if (entry.name === 'recipe.yaml') {
        const text = fs.readFileSync(file, 'utf8');
        counts.bytes += text.length;
        const doc = parse(text);
        if (doc === null || typeof doc !== 'object') throw new Error(`${file}: not a mapping`);
      } else {
        counts.bytes += fs.readFileSync(file).length;
      }
    }
  }
}

export function readAndParse(configDir, parser = 'yaml') {
  const root = path.join(configDir, 'recipes');
  const counts = { recipes: 0, files: 0, bytes: 0, parser };
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    counts.recipes++;
    readTree(path.join(root, entry.name), counts);
  }
  return counts;
}

const [dir, flag, parser = 'yaml'] = process.argv.slice(2);
if (!dir || (flag !== undefined && flag !== '--parser') || !['yaml', 'js-yaml'].includes(parser)) {
  process.stderr.write('usage: node bench/lib/read-parse-baseline.js <config dir> [--parser yaml|js-yaml]\n');
  process.exitCode = 1;
} else {
  if (parser === 'js-yaml') parse = (await import('js-yaml')).default.load;
  process.stdout.write(`${JSON.stringify(readAndParse(dir, parser))}\n`);
}
