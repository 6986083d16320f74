#!/usr/bin/env node
// Parses real pacman sync databases as the product reads a `format: pacman` repository's observed
// state: decompress (gzip in-process, zstd through bsdtar), read every `desc` entry, map it to a
// repo entry. Uses the product's reader (dist/observe/pacmanRepo.js); without it, prints
// {"unavailable": reason}.
//
//   node bench/lib/archdb-parse.js <db file>…
// prints `{"databases":[{"file","packages","ms"}…],"packages":N,"ms":T}` on stdout.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const reader = path.join(root, 'dist', 'observe', 'pacmanRepo.js');
const files = process.argv.slice(2);
if (!fs.existsSync(reader)) {
  process.stdout.write(`${JSON.stringify({ unavailable: 'dist/observe/pacmanRepo.js is missing (the pacman repository reader has not landed)' })}\n`);
} else {
  const { readArchive, parsePacmanDatabase, repoEntryOf } = await import(pathToFileURL(reader).href);
  if (typeof readArchive !== 'function' || typeof parsePacmanDatabase !== 'function' || typeof repoEntryOf !== 'function') {
    process.stdout.write(`${JSON.stringify({ unavailable: 'dist/observe/pacmanRepo.js lacks readArchive/parsePacmanDatabase/repoEntryOf' })}\n`);
  } else {
    const started = performance.now();
    const databases = files.map((file) => {
      const t0 = performance.now();
      const entries = new Map();
      for (const e of parsePacmanDatabase(readArchive(file))) {
        const entry = repoEntryOf(e);
        if (entry !== undefined) entries.set(entry.name, entry);
      }
      return { file: path.basename(file), packages: entries.size, ms: performance.now() - t0 };
    });
    process.stdout.write(`${JSON.stringify({ databases, packages: databases.reduce((n, d) => n + d.packages, 0), ms: performance.now() - started })}\n`);
  }
}
