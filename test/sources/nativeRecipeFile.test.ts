import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/config/diagnostic.js';
import type { InvalidRecipe, Recipe } from '../../src/model/types.js';
import { parseRecipeFile } from '../../src/sources/nativeRecipeFile.js';
import { readNativeRecipes } from '../../src/sources/nativeRecipes.js';
import { testdir } from '../helpers/testdir.js';

function parse(text: string, dirName = 'zlib'): Recipe | InvalidRecipe {
  return parseRecipeFile({ dirName, dir: `/src/${dirName}`, displayFile: `recipes/${dirName}/recipe.yaml`, text, files: { 'recipe.yaml': 'h' } });
}

function valid(text: string, dirName?: string): Recipe {
  const r = parse(text, dirName);
  if ('diagnostics' in r) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return r;
}

function errors(text: string, dirName?: string): string[] {
  const r = parse(text, dirName);
  if (!('diagnostics' in r)) throw new Error('expected an invalid recipe');
  return r.diagnostics.map(formatDiagnostic);
}

describe('parseRecipeFile: versions stay the text that was written', () => {
  it.each([
    ['version: 1.10', { version: '1.10', release: '1' }],
    ['version: "1.10"', { version: '1.10', release: '1' }],
    ['version: 2.0\nrelease: 10', { version: '2.0', release: '10' }],
    ['version: 2024.10\nrelease: 1.0', { version: '2024.10', release: '1.0' }],
    ['version: 1.3.1\nrelease: 2\nepoch: 1', { epoch: '1', version: '1.3.1', release: '2' }],
    ['version: 0x10', { version: '0x10', release: '1' }],
    ['version: 1e3', { version: '1e3', release: '1' }],
    ['{ name: zlib, version: 1.10 }', { version: '1.10', release: '1' }],
    // js-yaml's failsafe schema refuses the tag, so the located slow path (`yaml`) reads the file: it too keeps "1.10"
    ['version: !!float 1.10', { version: '1.10', release: '1' }],
  ])('%s', (body, version) => {
    const text = body.startsWith('{') ? body : `name: zlib\n${body}\n`;
    expect(valid(text).version).toEqual(version);
  });

  it('locates a schema error of a file the fast path read (parsed again with positions)', () => {
    expect(errors('name: zlib\nversion: 1.10\ndepends: libc\n')).toEqual([
      'recipes/zlib/recipe.yaml:3:10: error: depends must be a list, not the string "libc"\n  hint: write a list: `[a, b]`, or one `- item` per line',
    ]);
  });

  it('reads every field', () => {
    expect(valid('name: zlib\nversion: 1.3.1\ndepends: [libc>=2]\nbuildDepends: [cmake]\nprovides: [libz.so]\ndescription: Compression\n')).toEqual({
      id: 'zlib',
      name: 'zlib',
      packages: ['zlib'],
      version: { version: '1.3.1', release: '1' },
      depends: ['libc>=2'],
      buildDepends: ['cmake'],
      provides: ['libz.so'],
      dir: '/src/zlib',
      file: 'recipes/zlib/recipe.yaml',
      files: { 'recipe.yaml': 'h' },
      description: 'Compression',
    });
  });
});

describe('parseRecipeFile: located errors', () => {
  it.each([
    ['a name that disagrees with its directory', 'name: zlb\nversion: "1"\n', 'zlib', ['recipes/zlib/recipe.yaml:1:7: error: recipe name "zlb" does not match its directory "zlib"\n  hint: rename the directory to "zlb" or set name: zlib']],
    [
      'a name with a slash',
      'name: zlib/x\nversion: "1"\n',
      'zlib',
      ['recipes/zlib/recipe.yaml:1:7: error: name: the string "zlib/x" is not allowed here\n  hint: package names use letters, digits and @._+- and start with a letter or digit; no \'/\', spaces or shell characters'],
    ],
    [
      'a name with shell metacharacters',
      'name: "zlib;rm -rf"\nversion: "1"\n',
      'zlib',
      ['recipes/zlib/recipe.yaml:1:7: error: name: the string "zlib;rm -rf" is not allowed here\n  hint: package names use letters, digits and @._+- and start with a letter or digit; no \'/\', spaces or shell characters'],
    ],
    [
      'a directory name with shell metacharacters',
      'name: x\nversion: "1"\n',
      'a$(b)',
      ['recipes/a$(b)/recipe.yaml: error: directory name "a$(b)" is not a valid package name\n  hint: rename the directory: package names use letters, digits and @._+- and start with a letter or digit'],
    ],
    [
      'a version with a dash',
      'name: zlib\nversion: 1.3-1\n',
      'zlib',
      ['recipes/zlib/recipe.yaml:2:10: error: version: the string "1.3-1" is not allowed here\n  hint: versions use letters, digits and ._+~ (no \'-\' or \':\'; put the release in `release` and the epoch in `epoch`); quote it, e.g. version: "1.10"'],
    ],
    [
      'a dependency with a shell metacharacter',
      'name: zlib\nversion: "1"\ndepends: [libc, "a;b"]\n',
      'zlib',
      ['recipes/zlib/recipe.yaml:3:17: error: depends[1]: the string "a;b" is not allowed here\n  hint: a dependency is a package name, optionally with a version constraint such as zlib>=1.3'],
    ],
    [
      'malformed YAML',
      'name: zlib\nversion: [1\n',
      'zlib',
      ['recipes/zlib/recipe.yaml:3:1: error: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]\n  hint: check the indentation and punctuation on this line (YAML uses spaces, not tabs)'],
    ],
    ['not a mapping', '- zlib\n', 'zlib', ['recipes/zlib/recipe.yaml:1:1: error: a recipe must be a mapping with at least `name` and `version`\n  hint: write e.g. "name: zlib" and "version: \\"1.0\\""']],
    [
      'an unknown key and a missing version',
      'name: zlib\nsource: x\n',
      'zlib',
      [
        'recipes/zlib/recipe.yaml:1:1: error: missing required key "version"\n  hint: add `version:`',
        'recipes/zlib/recipe.yaml:2:1: error: unknown key "source"\n  hint: remove it; allowed keys: name, version, release, epoch, description, depends, buildDepends, provides',
      ],
    ],
  ])('%s', (_name, text, dirName, expected) => {
    expect(errors(text, dirName)).toEqual(expected);
  });
});

describe('readNativeRecipes', () => {
  it('reads every recipe directory, hashes every file, ignores directories without recipe.yaml and hidden ones', async () => {
    const root = testdir({
      'zlib/recipe.yaml': 'name: zlib\nversion: 1.10\n',
      'zlib/build.sh': 'echo hi\n',
      'zlib/patches/fix.patch': 'diff\n',
      'broken/recipe.yaml': 'name: brokn\nversion: "1"\n',
      'notes/README': 'not a recipe\n',
      '.git/recipe.yaml': 'name: git\nversion: "1"\n',
    });
    const snapshot = await readNativeRecipes({ root, displayRoot: 'recipes' });
    expect(snapshot.diagnostics).toEqual([]);
    expect(snapshot.recipes.map((r) => [r.id, r.version.version, Object.keys(r.files).sort()])).toEqual([['zlib', '1.10', ['build.sh', 'patches/fix.patch', 'recipe.yaml']]]);
    expect(snapshot.recipes[0]!.files['build.sh']).toBe(createHash('sha256').update('echo hi\n').digest('hex'));
    expect(snapshot.invalid.map((r) => [r.id, r.diagnostics.map((d) => d.message)])).toEqual([['broken', ['recipe name "brokn" does not match its directory "broken"']]]);
  });

  it('reports a missing source tree as a diagnostic of the tree', async () => {
    const root = testdir({});
    const snapshot = await readNativeRecipes({ root: `${root}/nope`, displayRoot: 'nope' });
    expect(snapshot.diagnostics.map(formatDiagnostic)).toEqual(['nope: error: cannot read the source tree (ENOENT)\n  hint: check source.path in the branch file']);
  });
});
