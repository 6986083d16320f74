/**
 * parseYaml: YAML the parser accepts but cannot turn into data. Counterexamples
 * found by the property tests (test/property/yamlParsers.test.ts), kept as
 * regression tests: each was an uncaught exception (or a bare process warning)
 * before, and is a located error now, in recipes and in the config alike.
 */
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/config/diagnostic.js';
import { loadConfig } from '../../src/config/load.js';
import { parseYaml } from '../../src/config/yamlFile.js';
import { parseRecipeFile } from '../../src/sources/nativeRecipeFile.js';
import { baseConfig, testdir } from '../helpers/testdir.js';

const BOMB = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...['b', 'c', 'd', 'e'].map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcd'[i]}`).join(', ')}]`), ''].join('\n');

describe('parseYaml: documents that cannot be read as data', () => {
  it.each([
    ['*n', 'f.yaml:1:1: error: alias *n names no anchor before it\n  hint: define the anchor (&n) earlier in the file, or write the value out'],
    ['name: x\nversion: *v\n', 'f.yaml:2:10: error: alias *v names no anchor before it\n  hint: define the anchor (&v) earlier in the file, or write the value out'],
    ['? [a]\n: 1\n', 'f.yaml:1:3: error: a mapping key is a list or mapping\n  hint: keys are plain names: write the key as text'],
    [BOMB, 'f.yaml:2:8: error: the document cannot be read: Excessive alias count indicates a resource exhaustion attack\n  hint: write the values out instead of nesting aliases'],
  ])('%j', (text, expected) => {
    const { yaml, diagnostics } = parseYaml('f.yaml', text);
    expect(diagnostics.map(formatDiagnostic)).toEqual([expected]);
    expect(yaml.data).toBeUndefined();
  });

  it('aliases to earlier anchors still read', () => {
    const { yaml, diagnostics } = parseYaml('f.yaml', 'a: &x 1\nb: *x\n');
    expect(diagnostics).toEqual([]);
    expect(yaml.data).toEqual({ a: 1, b: 1 });
  });

  it('a recipe.yaml of "*n" is an invalid recipe, not an exception', () => {
    const r = parseRecipeFile({ dirName: 'pkg', dir: '/src/pkg', displayFile: 'recipes/pkg/recipe.yaml', text: '*n', files: {} });
    expect('diagnostics' in r && r.diagnostics.map(formatDiagnostic)).toEqual([
      'recipes/pkg/recipe.yaml:1:1: error: alias *n names no anchor before it\n  hint: define the anchor (&n) earlier in the file, or write the value out',
    ]);
  });

  it('a hosts.yaml with an unresolved alias is a located config error', () => {
    const dir = testdir({ ...baseConfig(), 'hosts.yaml': 'hosts:\n  - name: local\n    transport: local\n    power: *p\n' });
    const { config, diagnostics } = loadConfig(dir);
    expect(config).toBeNull();
    expect(diagnostics.map(formatDiagnostic)).toContain('hosts.yaml:4:12: error: alias *p names no anchor before it\n  hint: define the anchor (&p) earlier in the file, or write the value out');
  });
});
