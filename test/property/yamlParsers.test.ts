/**
 * Properties of the YAML readers: native `recipe.yaml` (nativeRecipeFile.ts) and
 * the config directory (hosts.yaml, branches/*.yaml, pipelines/*.yaml through
 * config/load.ts). Fed mutated real files (the project's own config and
 * recipes, and archlinuxcn's 2,933 real `lilac.yaml` files) and random YAML,
 * each returns a value or located diagnostics, and never throws.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasErrors } from '../../src/config/diagnostic.js';
import { loadConfig } from '../../src/config/load.js';
import { PACKAGE_NAME_PATTERN } from '../../src/model/types.js';
import { tarFiles } from '../../src/observe/pacmanRepo.js';
import { parseRecipeFile } from '../../src/sources/nativeRecipeFile.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { corpus } from '../helpers/corpora.js';
import { expectLocated, lineCount, mutate, mutationsArb, propertyParams, textLike } from './mutate.js';

let tmp: string;
/** archlinuxcn's lilac.yaml files: real YAML written by many hands, by package directory name. */
let lilac: { dir: string; text: string }[];
const RECIPES = ['example/recipes', 'example/recipes-3.0'].flatMap((tree) =>
  readdirSync(path.join(REPO_ROOT, tree)).map((dir) => ({ dir, text: readFileSync(path.join(REPO_ROOT, tree, dir, 'recipe.yaml'), 'utf8') })),
);

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-prop-yaml-'));
  copyConfig(path.join(tmp, 'config'));
  lilac = [];
  for (const file of tarFiles(gunzipSync(readFileSync(corpus('archlinuxcn-lilac.tar.gz'))))) {
    if (file.path.endsWith('/lilac.yaml')) lilac.push({ dir: path.basename(path.dirname(file.path)), text: Buffer.from(file.body).toString('utf8') });
  }
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function checkRecipe(dirName: string, text: string): void {
  const r = parseRecipeFile({ dirName, dir: `/src/${dirName}`, displayFile: `recipes/${dirName}/recipe.yaml`, text, files: {} });
  if ('diagnostics' in r) {
    expect(r.diagnostics.length).toBeGreaterThan(0);
    // Only a bad directory name is about no line of the file.
    expectLocated(r.diagnostics, lineCount(text), { needLine: PACKAGE_NAME_PATTERN.test(dirName) });
    return;
  }
  expect(r.name).toBe(dirName);
  for (const v of [r.version.version, r.version.release, r.version.epoch ?? '']) expect(typeof v).toBe('string');
  for (const d of [...r.depends, ...r.buildDepends, ...r.provides]) expect(typeof d).toBe('string');
}

describe('native recipe.yaml (sources/nativeRecipeFile.ts)', () => {
  it('has its corpora', () => {
    expect(RECIPES.length).toBeGreaterThan(10);
    expect(lilac.length).toBe(2933);
  });

  it('mutated example recipes: a recipe or located errors', () => {
    fc.assert(
      fc.property(fc.nat(), mutationsArb, (pick, mutations) => {
        const { dir, text } = RECIPES[pick % RECIPES.length]!;
        checkRecipe(dir, mutate(text, mutations).toString('utf8'));
      }),
      propertyParams(),
    );
  });

  it('real lilac.yaml files (another schema) and mutations of them, read as recipes: located errors', () => {
    fc.assert(
      fc.property(fc.nat(), fc.option(mutationsArb), (pick, mutations) => {
        const { dir, text } = lilac[pick % lilac.length]!;
        checkRecipe(dir, mutations === null ? text : mutate(text, mutations).toString('utf8'));
      }),
      propertyParams(),
    );
  });

  it('random YAML-like text', () => {
    const line = fc.tuple(
      fc.constantFrom('', '  ', '- ', '    - '),
      fc.constantFrom('name', 'version', 'release', 'epoch', 'depends', 'buildDepends', 'provides', 'description', 'other', '? ', '&a', '*a', '!!int'),
      fc.constantFrom(': ', ':', ' : ', ''),
      fc.oneof(fc.constantFrom('pkg', '1.10', '1e3', '0x10', 'null', '~', '[a, b]', '{a: 1}', '"x', "'", '|', '>', '[', '- a', 'yes', '.inf', '2026-11-24'), fc.string({ maxLength: 10 })),
    );
    fc.assert(
      fc.property(fc.oneof(fc.array(line, { maxLength: 12 }).map((ls) => ls.map((l) => l.join('')).join('\n')), textLike('name: version[]{},-"\'#&*!|>')), (text) => checkRecipe('pkg', text)),
      propertyParams(),
    );
  });
});

/** The files of the project's own config (the bundled example), by path relative to the config directory. */
const CONFIG_FILES = ['hosts.yaml', ...readdirSync(path.join(REPO_ROOT, 'branches')).map((f) => `branches/${f}`), ...readdirSync(path.join(REPO_ROOT, 'pipelines')).map((f) => `pipelines/${f}`)];

/** A copy of the project's config directory in `dir` (the example trees linked, not copied). */
function copyConfig(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const file of CONFIG_FILES) cpSync(path.join(REPO_ROOT, file), path.join(dir, file), { recursive: true });
  symlinkSync(path.join(REPO_ROOT, 'example'), path.join(dir, 'example'));
  symlinkSync(path.join(REPO_ROOT, 'scripts'), path.join(dir, 'scripts'));
}

/** Runs `check` with `file` of the config in `dir` replaced by `content`, then puts the original back. */
function withFile(dir: string, file: string, content: string | Buffer, check: () => void): void {
  writeFileSync(path.join(dir, file), content);
  try {
    check();
  } finally {
    cpSync(path.join(REPO_ROOT, file), path.join(dir, file));
  }
}

function checkConfig(dir: string): void {
  const result = loadConfig(dir);
  expect(result.config === null).toBe(hasErrors(result.diagnostics));
  for (const d of result.diagnostics) {
    let lines = Number.MAX_SAFE_INTEGER;
    try {
      lines = lineCount(readFileSync(path.join(dir, d.file), 'utf8'));
    } catch {
      // A directory, or a file that is not there (the diagnostic says so).
    }
    expectLocated([d], lines);
  }
}

describe('the config directory (config/load.ts)', () => {
  it('the project config loads', () => {
    const result = loadConfig(path.join(tmp, 'config'));
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(result.config?.branches.length).toBe(CONFIG_FILES.filter((f) => f.startsWith('branches/')).length);
  });

  it('one file mutated: a config or located errors', () => {
    const dir = path.join(tmp, 'config');
    fc.assert(
      fc.property(fc.constantFrom(...CONFIG_FILES), mutationsArb, (file, mutations) => {
        withFile(dir, file, mutate(readFileSync(path.join(REPO_ROOT, file)), mutations), () => checkConfig(dir));
      }),
      propertyParams(Math.ceil(propertyParams().numRuns / 2)),
    );
  });

  it('a real lilac.yaml (another schema, maybe mutated) in place of a config file: located errors', () => {
    const dir = path.join(tmp, 'config');
    fc.assert(
      fc.property(fc.constantFrom(...CONFIG_FILES), fc.nat(), fc.option(mutationsArb), (file, pick, mutations) => {
        const text = lilac[pick % lilac.length]!.text;
        withFile(dir, file, mutations === null ? text : mutate(text, mutations), () => {
          expect(loadConfig(dir).config).toBeNull();
          checkConfig(dir);
        });
      }),
      propertyParams(Math.ceil(propertyParams().numRuns / 2)),
    );
  });
});
