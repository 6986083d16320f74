/**
 * The tree reader's worker threads, for real: worker threads run the compiled
 * dist/sources/recipeWorker.js (Node cannot start a worker from TypeScript), so
 * these tests load the tree reader from dist/ (refusing a stale build) and
 * compare what the workers read with what one thread reads.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as RecipeTree from '../../src/sources/recipeTree.js';
import { assertDistFresh, REPO_ROOT } from '../helpers/cli.js';
import { extractSrcinfoCorpus, type SrcinfoCorpus } from '../helpers/srcinfoCorpus.js';

let corpus: SrcinfoCorpus;
let tree: typeof RecipeTree;
let dirNames: string[];
beforeAll(async () => {
  assertDistFresh();
  tree = (await import(pathToFileURL(path.join(REPO_ROOT, 'dist', 'sources', 'recipeTree.js')).href)) as typeof RecipeTree;
  corpus = extractSrcinfoCorpus();
  const source = await tree.readRecipeTree({ root: corpus.root, displayRoot: 'chaotic-aur', format: { format: 'srcinfo', architecture: 'x86_64' }, threads: 1 });
  dirNames = [...source.recipes, ...source.invalid].map((r) => r.id as string).sort();
});
afterAll(() => corpus.remove());

const SRCINFO: RecipeTree.TreeFormat = { format: 'srcinfo', architecture: 'x86_64' };

describe('readRecipeTree: worker threads read what one thread reads', () => {
  it('the whole .SRCINFO corpus with two and three threads: recipes, digests, diagnostics, order', async () => {
    const options = { root: corpus.root, displayRoot: 'chaotic-aur', format: SRCINFO };
    const one = await tree.readRecipeTree({ ...options, threads: 1 });
    expect(one.recipes.length).toBe(2531);
    expect(await tree.readRecipeTree({ ...options, threads: 2 })).toEqual(one);
    expect(await tree.readRecipeTree({ ...options, threads: 3 })).toEqual(one);
  });

  it('workers alone, every chunk boundary: empty, one directory, a partial chunk, whole chunks, many chunks', async () => {
    const parser = await tree.loadFormat(SRCINFO);
    for (const count of [0, 1, 6, 7, 8, 14, 15, 97]) {
      // Spread over the corpus, not its first directories only.
      const names = dirNames.filter((_, i) => i % Math.max(1, Math.floor(dirNames.length / Math.max(count, 1))) === 0).slice(0, count);
      expect(names.length).toBe(count);
      const input = { root: corpus.root, displayRoot: 'chaotic-aur', format: SRCINFO, dirNames: names };
      const expected = tree.readRecipeDirs(input, parser, names);
      const readers = tree.startTreeReaders(input, { workers: 2, chunkSize: 7 });
      expect(await readers.read(parser, { thisThread: false }), `${count} directories`).toEqual(expected);
    }
  });

  it('this thread and a worker claiming small chunks of the corpus together', async () => {
    const parser = await tree.loadFormat(SRCINFO);
    const input = { root: corpus.root, displayRoot: 'chaotic-aur', format: SRCINFO, dirNames };
    const expected = tree.readRecipeDirs(input, parser, dirNames);
    expect(await tree.startTreeReaders(input, { workers: 1, chunkSize: 5 }).read(parser)).toEqual(expected);
  });

  it('native recipes in a worker (it loads the YAML parser and validators itself), and known digests are used, not recomputed', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-recipe-tree-'));
    try {
      cpSync(path.join(REPO_ROOT, 'example', 'recipes'), tmp, { recursive: true });
      const format: RecipeTree.TreeFormat = { format: 'recipe' };
      const parser = await tree.loadFormat(format);
      const one = await tree.readRecipeTree({ root: tmp, displayRoot: 'recipes', format, threads: 1 });
      const names = [...one.recipes, ...one.invalid].map((r) => r.id as string).sort();
      expect(names.length).toBeGreaterThan(5);
      const knownFiles = { [names[1]!]: { 'recipe.yaml': 'a'.repeat(64), 'build.sh': 'b'.repeat(64) } };
      const input = { root: tmp, displayRoot: 'recipes', format, dirNames: names, knownFiles };
      const expected = tree.readRecipeDirs(input, parser, names, knownFiles);
      const read = await tree.startTreeReaders(input, { workers: 2, chunkSize: 2 }).read(parser, { thisThread: false });
      expect(read).toEqual(expected);
      expect((read[1] as { files: unknown }).files).toEqual(knownFiles[names[1]!]);
      expect(read.filter((r) => r !== null && 'diagnostics' in r)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('dirPrefix', () => {
  it('joins a root and an entry name as path.join does, for any root', async () => {
    const { dirPrefix } = await import('../../src/sources/recipeTree.js');
    for (const root of ['/', '', '.', 'a/..', '/srv/tree', '/srv/tree/', 'rel/dir', '/a//b/./c/', '../up', '/a/b/..']) {
      for (const name of ['foo', '.SRCINFO', 'a b', 'x..y']) expect(dirPrefix(root) + name, JSON.stringify([root, name])).toBe(path.join(root, name));
    }
  });
});
