import { describe, expect, it } from 'vitest';
import type { RebuildPolicy } from '../../src/config/types.js';
import { CanonicalJsonBytes, canonicalJson, hashCanonical, sha256Hex } from '../../src/model/canonical.js';
import { diffInputs, fingerprintReader, type FingerprintedRecipe, type FingerprintInputs } from '../../src/model/fingerprint.js';
import type { Recipe } from '../../src/model/types.js';
import { writeJsonString } from '../../src/model/utf8.js';
import { fingerprintOf, fingerprintsOf, graphOf, recipe, type FingerprintOptions, type RecipeSpec } from '../helpers/model.js';

/** libc <- zlib <- libpng <- imagetool, and docgen beside zlib. */
function chain(changes: Partial<Record<string, RecipeSpec>> = {}): Recipe[] {
  const spec = (name: string, base: RecipeSpec): RecipeSpec => ({ ...base, ...changes[name] });
  return [
    recipe('libc', spec('libc', { version: '2.40' })),
    recipe('zlib', spec('zlib', { version: '1.3.1', depends: ['libc'] })),
    recipe('libpng', spec('libpng', { version: '1.6.44', depends: ['zlib'] })),
    recipe('imagetool', spec('imagetool', { version: '1.10', depends: ['libpng'] })),
    recipe('docgen', spec('docgen', { version: '0.4.0', depends: ['libc'] })),
  ];
}

const ALL = ['docgen', 'imagetool', 'libc', 'libpng', 'zlib'];

/** Recipe ids whose fingerprint differs between the two trees. */
function changedIds(before: Recipe[], after: Recipe[], options: FingerprintOptions, afterOptions: FingerprintOptions = options): string[] {
  const a = fingerprintsOf(graphOf(before), options);
  const b = fingerprintsOf(graphOf(after), afterOptions);
  return ALL.filter((id) => fingerprintOf(a, id).fingerprint !== fingerprintOf(b, id).fingerprint);
}

const zlibFileChanged: Partial<Record<string, RecipeSpec>> = { zlib: { files: { 'recipe.yaml': 'yaml-of-zlib', 'build.sh': 'edited' } } };
const zlibVersionBumped: Partial<Record<string, RecipeSpec>> = { zlib: { version: '1.3.2' } };

interface PolicyCase {
  readonly rebuild: RebuildPolicy;
  readonly change: string;
  readonly after: Partial<Record<string, RecipeSpec>>;
  readonly changed: readonly string[];
}

const policyCases: PolicyCase[] = [
  { rebuild: 'transitive', change: "a file of zlib", after: zlibFileChanged, changed: ['imagetool', 'libpng', 'zlib'] },
  { rebuild: 'direct', change: 'a file of zlib', after: zlibFileChanged, changed: ['libpng', 'zlib'] },
  { rebuild: 'version', change: 'a file of zlib', after: zlibFileChanged, changed: ['zlib'] },
  { rebuild: 'transitive', change: "zlib's version", after: zlibVersionBumped, changed: ['imagetool', 'libpng', 'zlib'] },
  { rebuild: 'direct', change: "zlib's version", after: zlibVersionBumped, changed: ['libpng', 'zlib'] },
  { rebuild: 'version', change: "zlib's version", after: zlibVersionBumped, changed: ['libpng', 'zlib'] },
  { rebuild: 'transitive', change: "libc's release", after: { libc: { version: '2.40', release: '2' } }, changed: ALL },
  { rebuild: 'direct', change: "libc's epoch", after: { libc: { version: '2.40', epoch: '1' } }, changed: ['docgen', 'libc', 'zlib'] },
  { rebuild: 'version', change: 'a file of imagetool (nothing depends on it)', after: { imagetool: { files: { 'recipe.yaml': 'x' } } }, changed: ['imagetool'] },
];

describe('computeFingerprints: which packages change under each rebuild policy', () => {
  it.each(policyCases)('$rebuild: $change changes $changed', (c) => {
    expect(changedIds(chain(), chain(c.after), { rebuild: c.rebuild })).toEqual(c.changed);
  });

  it.each<RebuildPolicy>(['transitive', 'direct', 'version'])('%s: a pipeline or prerequisite change changes every package', (rebuild) => {
    expect(changedIds(chain(), chain(), { rebuild }, { rebuild, pipelineDigest: 'q'.repeat(64) })).toEqual(ALL);
    expect(changedIds(chain(), chain(), { rebuild, prerequisites: { bindist: 'a'.repeat(64) } }, { rebuild, prerequisites: { bindist: 'b'.repeat(64) } })).toEqual(ALL);
  });

  it('changes every package when only the rebuild policy changes', () => {
    expect(changedIds(chain(), chain(), { rebuild: 'transitive' }, { rebuild: 'direct' })).toEqual(ALL);
  });

  it('is the same for the same inputs, whatever the order of files, prerequisites and recipes', () => {
    const files = { 'build.sh': 'b', 'recipe.yaml': 'r', 'patches/fix.patch': 'p' };
    const reordered = { 'patches/fix.patch': 'p', 'recipe.yaml': 'r', 'build.sh': 'b' };
    const a = fingerprintsOf(graphOf(chain({ zlib: { files } })), { prerequisites: { bindist: 'x', xfree86: 'y' } });
    const b = fingerprintsOf(graphOf(chain({ zlib: { files: reordered } }).reverse()), { prerequisites: { xfree86: 'y', bindist: 'x' } });
    for (const id of ALL) expect(fingerprintOf(b, id).fingerprint).toBe(fingerprintOf(a, id).fingerprint);
  });

  it('is the sha256 of the canonical inputs, which name every input', () => {
    const fps = fingerprintsOf(graphOf(chain()), { rebuild: 'transitive', prerequisites: { bindist: 'd'.repeat(64) } });
    const libpng = fingerprintOf(fps, 'libpng');
    expect(libpng.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(libpng.fingerprint).toBe(hashCanonical(libpng.inputs));
    expect(libpng.inputs).toEqual({
      format: 1,
      recipe: { 'build.sh': 'script-of-libpng', 'recipe.yaml': 'yaml-of-libpng' },
      version: '1.6.44-1',
      pipeline: 'p'.repeat(64),
      prerequisites: { bindist: 'd'.repeat(64) },
      rebuild: 'transitive',
      dependencies: { zlib: fingerprintOf(fps, 'zlib').fingerprint },
    });
    expect(fingerprintOf(fingerprintsOf(graphOf(chain()), { rebuild: 'version' }), 'libpng').inputs.dependencies).toEqual({ zlib: '1.3.1-1' });
  });

  it.each<RebuildPolicy>(['transitive', 'direct', 'version'])('%s: is the sha256 of the canonical inputs when names and files need escaping', (rebuild) => {
    // File names and digests as a tree may hold them: quotes, backslashes, control characters,
    // non-ASCII, a lone surrogate; written into the canonical JSON as JSON.stringify writes them.
    const files = { 'a"b\\c': 'd\n\u0001', 'é/ü.patch': '\ud800x', 'recipe.yaml': 'r\u007f', '\t': '' };
    const recipes = [recipe('lib\u00e9', { version: '1.0', files }), recipe('app', { depends: ['lib\u00e9'], files: { '"': '\\' } })];
    const fps = fingerprintsOf(graphOf(recipes), { rebuild });
    for (const id of ['app', 'lib\u00e9']) expect(fingerprintOf(fps, id).fingerprint).toBe(hashCanonical(fingerprintOf(fps, id).inputs));
  });

  it('gives a dependency on an invalid recipe the marker "invalid"', () => {
    const fps = fingerprintsOf(graphOf([recipe('app', { depends: ['broken'] })], ['broken']));
    expect(fingerprintOf(fps, 'app').inputs.dependencies).toEqual({ broken: 'invalid' });
    expect(fps.has('broken' as Recipe['id'])).toBe(false);
  });
});

describe('FingerprintTable', () => {
  // A cycle (a <-> b, both transitive: provisional values), an invalid dependency, and a chain.
  const recipes = [...chain(), recipe('a', { depends: ['b', 'zlib'] }), recipe('b', { depends: ['a'] }), recipe('user', { depends: ['a', 'gone'] })];
  const graph = graphOf(recipes, ['gone']);

  it.each(['transitive', 'direct', 'version'] as const)('is a map of every valid recipe in dependency order, entries made when asked for (%s)', (rebuild) => {
    const table = fingerprintsOf(graph, { rebuild });
    const entries = [...table.entries()];
    const valid = graph.order.filter((id) => graph.recipes.has(id));
    expect(entries.map(([id]) => id)).toEqual(valid);
    expect(table.size).toBe(valid.length);
    expect([...table.keys()]).toEqual(valid);
    expect(table.has('gone' as Recipe['id'])).toBe(false);
    expect(table.get('gone' as Recipe['id'])).toBeUndefined();
    expect(table.get('nothing' as Recipe['id'])).toBeUndefined();
    const seen: string[] = [];
    table.forEach((value, id, map) => {
      expect(map).toBe(table);
      expect(table.get(id)).toBe(value);
      expect(value.fingerprint).toBe(hashCanonical(value.inputs));
      seen.push(id);
    });
    expect(seen).toEqual(valid);
    const fingerprints: string[] = [];
    table.forEachFingerprint((fingerprint, id) => fingerprints.push(`${id}:${fingerprint}`));
    expect(fingerprints).toEqual(entries.map(([id, value]) => `${id}:${value.fingerprint}`));
    // The same list as canonical JSON bytes (for the desired-state digest): what JSON.stringify writes.
    expect(Buffer.from(table.idFingerprintList().bytes).toString('utf8')).toBe(JSON.stringify(fingerprints));
  });

  it('writes the id:fingerprint list as JSON.stringify does for ids that need escaping, and for many recipes', () => {
    // Ids as a source may hold them: non-ASCII, a quote, a backslash, a control character, a lone surrogate.
    const odd = ['lib\u00e9', 'q"uote', 'back\\slash', 'ctl\u0001', 'sur\ud800', 'plain'].map((id) => recipe(id, {}));
    // Enough recipes that the bytes outgrow their first buffer (64 KiB).
    const many = Array.from({ length: 1500 }, (_, i) => recipe(`port${i}`, { depends: i > 0 ? [`port${i - 1}`] : [] }));
    for (const recipes of [odd, many, []]) {
      const table = fingerprintsOf(graphOf(recipes));
      const lines: string[] = [];
      table.forEachFingerprint((fingerprint, id) => lines.push(`${id}:${fingerprint}`));
      const bytes = Buffer.from(table.idFingerprintList().bytes);
      expect(bytes.equals(Buffer.from(JSON.stringify(lines), 'utf8'))).toBe(true);
      expect(hashCanonical({ recipes: table.idFingerprintList(), x: 1 })).toBe(hashCanonical({ recipes: lines, x: 1 }));
    }
  });

  it('reads the fingerprint of each node the same by index as from a plain map', () => {
    const table = fingerprintsOf(graph);
    const plain = new Map<Recipe['id'], FingerprintedRecipe>(table);
    const byIndex = fingerprintReader(table, graph.indexed);
    const byMap = fingerprintReader(plain, graph.indexed);
    // A table of another graph is read through its ids.
    const other = fingerprintReader(fingerprintsOf(graphOf(recipes, ['gone'])), graph.indexed);
    graph.indexed.nodes.forEach((id, i) => {
      expect(byIndex(i)).toBe(table.get(id)?.fingerprint);
      expect(byMap(i)).toBe(byIndex(i));
      expect(other(i)).toBe(byIndex(i));
    });
    expect(byIndex(graph.indexed.indexOf.get('user')!)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('canonicalJson', () => {
  it.each([
    [{ b: 1, a: [3, { d: null, c: 'x' }] }, '{"a":[3,{"c":"x","d":null}],"b":1}'],
    [{ a: undefined, b: 'é"' }, '{"b":"é\\""}'],
    [[undefined, 1], '[null,1]'],
    ['text', '"text"'],
    [null, 'null'],
  ])('%j -> %s', (value, text) => {
    expect(canonicalJson(value)).toBe(text);
  });

  it('writes CanonicalJsonBytes as they are, wherever they are, and hashes them as the same text', () => {
    const list = ['a:1', 'é:2'];
    const bytes = new CanonicalJsonBytes(Buffer.from(JSON.stringify(list), 'utf8'));
    const cases: [unknown, unknown][] = [
      [{ b: bytes, a: 'x', c: [1, bytes, { d: bytes }] }, { b: list, a: 'x', c: [1, list, { d: list }] }],
      [[bytes], [list]],
      [bytes, list],
    ];
    for (const [withBytes, withStrings] of cases) {
      expect(canonicalJson(withBytes)).toBe(canonicalJson(withStrings));
      expect(hashCanonical(withBytes)).toBe(sha256Hex(canonicalJson(withStrings)));
    }
  });
});

/** Inputs of libpng built under `options` from a tree with `changes`. */
function libpngInputs(changes: Partial<Record<string, RecipeSpec>> = {}, options: FingerprintOptions = {}): FingerprintInputs {
  return fingerprintOf(fingerprintsOf(graphOf(chain(changes)), options), 'libpng').inputs;
}

interface DiffCase {
  readonly name: string;
  readonly before: FingerprintInputs;
  readonly after: FingerprintInputs;
  readonly changes: ReturnType<typeof diffInputs>;
}

const diffCases: DiffCase[] = [
  { name: 'nothing changed', before: libpngInputs(), after: libpngInputs(), changes: [] },
  {
    name: 'a recipe file changed, one added, one removed',
    before: libpngInputs({ libpng: { files: { 'build.sh': '1', 'old.patch': '2', 'recipe.yaml': '3' } } }),
    after: libpngInputs({ libpng: { files: { 'build.sh': 'edited', 'new.patch': '2', 'recipe.yaml': '3' } } }),
    changes: [
      { kind: 'recipe-file', name: 'build.sh', detail: 'changed' },
      { kind: 'recipe-file', name: 'new.patch', detail: 'added' },
      { kind: 'recipe-file', name: 'old.patch', detail: 'removed' },
    ],
  },
  {
    name: 'the version (and so recipe.yaml) changed: version first',
    before: libpngInputs(),
    after: libpngInputs({ libpng: { version: '1.6.45', files: { 'build.sh': 'script-of-libpng', 'recipe.yaml': 'bumped' } } }),
    changes: [
      { kind: 'version', detail: '1.6.44-1 -> 1.6.45-1' },
      { kind: 'recipe-file', name: 'recipe.yaml', detail: 'changed' },
      // transitive: the version is part of libpng's own inputs only; zlib is unchanged
    ],
  },
  {
    name: 'the pipeline changed',
    before: libpngInputs(),
    after: libpngInputs({}, { pipelineDigest: 'q'.repeat(64) }),
    // transitive: zlib's fingerprint moved with the pipeline too; the pipeline comes first
    changes: [
      { kind: 'pipeline', detail: 'pipeline definition changed' },
      { kind: 'dependency', name: 'zlib', detail: 'changed' },
    ],
  },
  {
    name: 'a prerequisite changed, one was added (digests shortened to 12; version policy keeps dependencies out)',
    before: libpngInputs({}, { rebuild: 'version', prerequisites: { bindist: '0123456789ab'.repeat(5) + 'cdef' } }),
    after: libpngInputs({}, { rebuild: 'version', prerequisites: { bindist: 'fedcba987654'.repeat(5) + '3210', motif: 'e'.repeat(64) } }),
    changes: [
      { kind: 'prerequisite', name: 'bindist', detail: '0123456789ab -> fedcba987654' },
      { kind: 'prerequisite', name: 'motif', detail: 'added' },
    ],
  },
  {
    name: 'transitive: a dependency (zlib) was rebuilt with a changed file',
    before: libpngInputs(),
    after: libpngInputs(zlibFileChanged),
    changes: [{ kind: 'dependency', name: 'zlib', detail: 'changed' }],
  },
  {
    name: 'transitive: a change two levels down shows as the direct dependency',
    before: libpngInputs(),
    after: libpngInputs({ libc: { version: '2.41' } }),
    changes: [{ kind: 'dependency', name: 'zlib', detail: 'changed' }],
  },
  {
    name: 'version: the dependency version change is spelled out',
    before: libpngInputs({}, { rebuild: 'version' }),
    after: libpngInputs(zlibVersionBumped, { rebuild: 'version' }),
    changes: [{ kind: 'dependency', name: 'zlib', detail: '1.3.1-1 -> 1.3.2-1' }],
  },
  {
    name: 'a dependency was added',
    before: libpngInputs(),
    after: libpngInputs({ libpng: { version: '1.6.44', depends: ['zlib', 'libc'] } }),
    changes: [{ kind: 'dependency', name: 'libc', detail: 'added' }],
  },
  {
    name: 'the rebuild policy changed: named once, not per dependency',
    before: libpngInputs({}, { rebuild: 'transitive' }),
    after: libpngInputs({}, { rebuild: 'direct' }),
    changes: [{ kind: 'dependency', detail: 'rebuild policy transitive -> direct' }],
  },
];

describe('diffInputs', () => {
  it.each(diffCases)('$name', (c) => {
    expect(diffInputs(c.before, c.after)).toEqual(c.changes);
  });
});

describe('writeJsonString', () => {
  it.each(['', 'zlib', 'a"b', 'back\\slash', 'tab\there', '\u0000\u001f\u007f', 'é', '日本', '\ud800', 'x\udc00y', '😀', '/'.repeat(300)])('writes %j as JSON.stringify does, as UTF-8', (text) => {
    const target = Buffer.alloc(text.length * 6 + 2 + 4, 0xee);
    const written = writeJsonString(target, text, 2);
    expect(target.subarray(2, 2 + written).toString('utf8')).toBe(JSON.stringify(text));
    expect(written).toBe(Buffer.byteLength(JSON.stringify(text)));
    expect(target[0]).toBe(0xee);
  });
});
