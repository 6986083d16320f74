import { chmodSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { BASE_BRANCH, BASE_HOSTS, baseConfig, copyExample, recipeFiles, testdir, without, type Files } from '../helpers/testdir.js';

const PACKAGE_NAME_HINT = "package names use letters, digits and @._+- and start with a letter or digit; no '/', spaces or shell characters";
const DUD_NAME_HINT = 'name a package (letters, digits and @._+-) or a FreeBSD origin category/port';

interface BadInput {
  readonly name: string;
  /** Files to add to (or replace in) the base config. */
  readonly files?: Files;
  /** Files of the base config to delete. */
  readonly remove?: readonly string[];
  /** The whole of stderr. */
  readonly stderr: readonly string[];
}

const badInputs: BadInput[] = [
  {
    name: 'malformed YAML: a bad indent, a duplicate key',
    files: {
      'hosts.yaml': 'hosts:\n  - name: local\n    transport: local\n   power: 2\n',
      'pipelines/shell.yaml': 'steps:\n  - name: build\n    run: ./build.sh\n    run: make\n',
    },
    stderr: [
      'hosts.yaml:4:1: error: invalid YAML: Sequence item without - indicator',
      '  hint: check the indentation and punctuation on this line (YAML uses spaces, not tabs)',
      'pipelines/shell.yaml:4:5: error: invalid YAML: Map keys must be unique',
      '  hint: each key may appear once in a mapping; remove or rename the repeated one',
    ],
  },
  {
    name: 'wrong types and values: a word for a number, a string for a list, out of range, a misspelt choice, a bad duration',
    files: {
      'hosts.yaml': 'hosts:\n  - name: local\n    transport: local\n    power: two\n    labels: x86_64\n    port: 0\n',
      'branches/main.yaml': BASE_BRANCH.replace('rebuild: transitive', 'rebuild: transitve'),
      'pipelines/shell.yaml': 'steps:\n  - name: build\n    run: ./build.sh\n    timeout: 10 minutes\n',
    },
    stderr: [
      'branches/main.yaml:6:10: error: rebuild must be one of transitive, direct, version, not the string "transitve"',
      '  hint: did you mean "transitive"?',
      'hosts.yaml:4:12: error: hosts[0].power must be a whole number, not the string "two"',
      '  hint: power is a whole number of builds at once, from 1 to 1000',
      'hosts.yaml:5:13: error: hosts[0].labels must be a list, not the string "x86_64"',
      '  hint: write a list: `[a, b]`, or one `- item` per line',
      'hosts.yaml:6:11: error: hosts[0].port must be >= 1, not the number 0',
      '  hint: use a number >= 1',
      'pipelines/shell.yaml:4:14: error: steps[0].timeout: the string "10 minutes" is not allowed here',
      '  hint: write a duration like 90s, 30m, 2h or 1h30m',
    ],
  },
  {
    name: 'unknown keys',
    files: {
      'hosts.yaml': `${BASE_HOSTS}    lables: [fast]\n`,
      'branches/main.yaml': `${BASE_BRANCH}    purge: true\nschedule: nightly\n`,
    },
    stderr: [
      'branches/main.yaml:12:5: error: unknown key "purge" in repos[0]',
      '  hint: remove it; allowed keys in repos[0]: name, path, format, packages, prune, review, hooks, sign',
      'branches/main.yaml:13:1: error: unknown key "schedule"',
      '  hint: remove it; allowed keys: source, pipeline, architecture, hosts, rebuild, prerequisites, dudsFile, duds, repos, guards',
      'hosts.yaml:6:5: error: unknown key "lables" in hosts[0]',
      '  hint: did you mean "labels"? Otherwise remove it',
    ],
  },
  {
    name: 'a missing required key, also under the ssh transport',
    files: {
      'hosts.yaml': `${BASE_HOSTS}  - name: builder1\n    transport: ssh\n    power: 4\n    address: 127.0.0.2\n`,
      'branches/main.yaml': BASE_BRANCH.replace('pipeline: shell\n', ''),
    },
    stderr: [
      'branches/main.yaml:1:1: error: missing required key "pipeline"',
      '  hint: add `pipeline:` (Name of a file pipelines/<name>.yaml)',
      'hosts.yaml:6:5: error: missing required key "knownHostsFile" in hosts[1]',
      '  hint: add `knownHostsFile:`',
      'hosts.yaml:6:5: error: missing required key "user" in hosts[1]',
      '  hint: add `user:`',
    ],
  },
  {
    name: 'a missing hosts.yaml',
    remove: ['hosts.yaml'],
    stderr: ['hosts.yaml: error: file not found', '  hint: create hosts.yaml with at least one host, e.g. `hosts: [{ name: local, transport: local, power: 2 }]` (or pass -C with the config directory)'],
  },
  {
    name: 'an empty hosts.yaml and no branches',
    files: { 'hosts.yaml': '# nothing yet\n' },
    remove: ['branches/main.yaml'],
    stderr: [
      'branches/: error: no branch defined',
      '  hint: add a file branches/<name>.yaml describing what to build (see docs/CONFIG.md)',
      'hosts.yaml:1:1: error: the file is empty',
      '  hint: create hosts.yaml with at least one host, e.g. `hosts: [{ name: local, transport: local, power: 2 }]` (or pass -C with the config directory)',
    ],
  },
  {
    name: 'a missing source directory and prerequisite file',
    files: {
      'branches/main.yaml': BASE_BRANCH.replace('path: recipes', 'path: recipies') + `prerequisites:\n  - name: bindist\n    path: tarballs/bindist.tar.gz\n    sha256: ${'ab'.repeat(32)}\n`,
    },
    stderr: [
      'branches/main.yaml:2:9: error: source directory "recipies" does not exist',
      '  hint: create it or correct the path (relative to the config directory)',
      'branches/main.yaml:14:11: error: prerequisite file "tarballs/bindist.tar.gz" does not exist',
      '  hint: correct the path (relative to the config directory) or add the tarball',
    ],
  },
  {
    name: 'a duplicate host',
    files: { 'hosts.yaml': `${BASE_HOSTS}  - name: builder1\n    transport: local\n    power: 1\n  - name: local\n    transport: local\n    power: 4\n` },
    stderr: ['hosts.yaml:9:5: error: duplicate host name "local" (first defined at line 2)', '  hint: host names must be unique: rename or remove one of them'],
  },
  {
    name: 'an unknown pipeline: a typo of an existing one, and one with no near name',
    files: {
      'branches/main.yaml': BASE_BRANCH.replace('pipeline: shell', 'pipeline: shel'),
      'branches/other.yaml': BASE_BRANCH.replace('pipeline: shell', 'pipeline: cmake').replace('path: repos/main', 'path: repos/other'),
    },
    stderr: [
      'branches/main.yaml:4:11: error: pipeline "shel" does not exist (no pipelines/shel.yaml)',
      '  hint: did you mean "shell"?',
      'branches/other.yaml:4:11: error: pipeline "cmake" does not exist (no pipelines/cmake.yaml)',
      '  hint: use one of: shell, or create pipelines/cmake.yaml',
    ],
  },
  {
    name: 'a host selector that matches no host',
    files: { 'branches/main.yaml': BASE_BRANCH.replace('labels: [x86_64]', 'labels: [x86_64, arm64]') },
    stderr: ['branches/main.yaml:5:8: error: no host has all the labels x86_64, arm64', '  hint: add the labels to a host in hosts.yaml, or change the selector'],
  },
  {
    name: 'two repos sharing a path',
    files: { 'branches/other.yaml': BASE_BRANCH.replace('name: main', 'name: stable') },
    stderr: ['branches/other.yaml:8:5: error: repo "stable" uses the same path as repo "main" of branch "main" (branches/main.yaml:8)', '  hint: give every repo a directory of its own'],
  },
  {
    name: 'a malformed sha256',
    files: {
      'tarballs/bindist.tar.gz': 'tar',
      'branches/main.yaml': `${BASE_BRANCH}prerequisites:\n  - name: bindist\n    path: tarballs/bindist.tar.gz\n    sha256: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\n`,
    },
    stderr: [
      'branches/main.yaml:15:13: error: prerequisites[0].sha256: the string "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08" is not allowed here',
      '  hint: sha256 is 64 lower-case hexadecimal digits: run `sha256sum FILE` and copy the first field',
    ],
  },
  {
    name: 'dud package names with shell metacharacters and a path (refused by the schema; one slash is an origin)',
    files: { 'branches/main.yaml': `${BASE_BRANCH}duds:\n  - package: "zlib; rm -rf /"\n    reason: x\n  - package: lib/../zlib\n    reason: y\n  - package: $(id)\n    reason: z\n  - package: devel/zlib\n    reason: an origin\n` },
    stderr: [
      'branches/main.yaml:13:14: error: duds[0].package: the string "zlib; rm -rf /" is not allowed here',
      `  hint: ${DUD_NAME_HINT}`,
      'branches/main.yaml:15:14: error: duds[1].package: the string "lib/../zlib" is not allowed here',
      `  hint: ${DUD_NAME_HINT}`,
      'branches/main.yaml:17:14: error: duds[2].package: the string "$(id)" is not allowed here',
      `  hint: ${DUD_NAME_HINT}`,
    ],
  },
  {
    name: 'recipe and directory names with a slash or shell metacharacters',
    files: {
      'recipes/zlib/recipe.yaml': 'name: lib/zlib\nversion: "1.3.1"\ndepends: [libc]\n',
      'recipes/libc/recipe.yaml': 'name: "libc`reboot`"\nversion: "2.40"\n',
      'recipes/zlib&&id/recipe.yaml': 'name: zlib\nversion: "1.3.1"\n',
    },
    stderr: [
      'recipes/libc/recipe.yaml:1:7: error: name: the string "libc`reboot`" is not allowed here',
      `  hint: ${PACKAGE_NAME_HINT}`,
      // Sorted by file in code-unit order, whatever the locale: '&' sorts before '/'.
      'recipes/zlib&&id/recipe.yaml: error: directory name "zlib&&id" is not a valid package name',
      '  hint: rename the directory: package names use letters, digits and @._+- and start with a letter or digit',
      'recipes/zlib/recipe.yaml:1:7: error: name: the string "lib/zlib" is not allowed here',
      `  hint: ${PACKAGE_NAME_HINT}`,
    ],
  },
  {
    name: 'a recipe whose name disagrees with its directory',
    files: { 'recipes/zlib/recipe.yaml': 'name: zlb\nversion: "1.3.1"\ndepends: [libc]\n' },
    stderr: ['recipes/zlib/recipe.yaml:1:7: error: recipe name "zlb" does not match its directory "zlib"', '  hint: rename the directory to "zlb" or set name: zlib'],
  },
  {
    name: 'a recipe with malformed YAML and one with a wrong type',
    files: { 'recipes/zlib/recipe.yaml': 'name: zlib\nversion: "1.3.1\n', 'recipes/libc/recipe.yaml': 'name: libc\nversion: "2.40"\ndepends: libc-headers\n' },
    stderr: [
      'recipes/libc/recipe.yaml:3:10: error: depends must be a list, not the string "libc-headers"',
      '  hint: write a list: `[a, b]`, or one `- item` per line',
      'recipes/zlib/recipe.yaml:3:1: error: invalid YAML: Missing closing "quote',
      '  hint: check the indentation and punctuation on this line (YAML uses spaces, not tabs)',
    ],
  },
  {
    name: 'a dependency cycle',
    files: { ...recipeFiles('libc', { version: '2.40', depends: ['app'] }) },
    stderr: [
      'recipes/app/recipe.yaml:3:11: error: dependency cycle: app -> zlib -> libc -> app',
      '  hint: break the cycle in one of: recipes/app/recipe.yaml, recipes/libc/recipe.yaml, recipes/zlib/recipe.yaml',
    ],
  },
  {
    // a broken hosts.yaml does not hide the pipeline check of a branch
    name: 'errors in several files at once, all printed, sorted by file and line',
    files: {
      'hosts.yaml': `${BASE_HOSTS}  - name: local\n    transport: local\n    power: 0\n`,
      'branches/main.yaml': BASE_BRANCH.replace('pipeline: shell', 'pipeline: shel'),
      'branches/extra.yaml': BASE_BRANCH.replace('path: repos/main', 'path: repos/extra').replace('rebuild: transitive', 'rebuild: always').replace('format: plain', 'format: zip'),
    },
    stderr: [
      'branches/extra.yaml:6:10: error: rebuild must be one of transitive, direct, version, not the string "always"',
      '  hint: use one of: transitive, direct, version',
      'branches/extra.yaml:10:13: error: repos[0].format must be one of plain, pacman, not the string "zip"',
      '  hint: use one of: plain, pacman',
      'branches/main.yaml:4:11: error: pipeline "shel" does not exist (no pipelines/shel.yaml)',
      '  hint: did you mean "shell"?',
      'hosts.yaml:8:12: error: hosts[1].power must be >= 1, not the number 0',
      '  hint: power is a whole number of builds at once, from 1 to 1000',
    ],
  },
];

describe('buildfleet validate: bad input', () => {
  it.each(badInputs)('$name: exact diagnostics, exit 1', async (c) => {
    const dir = testdir(without({ ...baseConfig(), ...c.files }, ...(c.remove ?? [])));
    const result = await runCli(['-C', dir, 'validate']);
    expect(result.stderr).toBe(`${c.stderr.join('\n')}\n`);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(1);
  });

  it('refuses a config directory that does not exist', async () => {
    const dir = testdir({});
    const result = await runCli(['-C', 'nope', 'validate'], { cwd: dir });
    // Named as the user wrote it.
    expect(result.stderr).toBe('nope: error: config directory not found\n  hint: pass -C with the directory holding hosts.yaml and branches/\n');
    expect(result.code).toBe(1);
  });
});

describe('buildfleet validate: valid config', () => {
  it('accepts the base config (from the current directory without -C)', async () => {
    const dir = testdir(baseConfig());
    const result = await runCli(['validate'], { cwd: dir });
    expect(result).toEqual({ code: 0, stdout: '', stderr: 'ok: 1 host(s), 1 pipeline(s), 1 branch(es), 3 recipe(s)\n' });
  });

  it('warns about a dud naming no known package and a dependency nothing provides, and still exits 0', async () => {
    const dir = testdir({
      ...baseConfig(),
      'branches/main.yaml': `${BASE_BRANCH}duds:\n  - package: motif\n    reason: needs Motif\n`,
      ...recipeFiles('app', { depends: ['zlib', 'libfoo>=2'] }),
    });
    const result = await runCli(['-C', dir, 'validate']);
    expect(result.stderr).toBe(
      [
        'branches/main.yaml:13:14: warning: dud "motif" names no package of the source',
        '  hint: remove the entry if the package is gone, or correct its name',
        'recipes/app/recipe.yaml:3:17: warning: app depends on libfoo, which no recipe provides; it will be skipped',
        '  hint: add a recipe that provides it, or fix the dependency name',
        'ok: 1 host(s), 1 pipeline(s), 1 branch(es), 3 recipe(s), 2 warning(s)',
        '',
      ].join('\n'),
    );
    expect(result.code).toBe(0);
  });

  it('accepts the bundled example', async () => {
    const result = await runCli(['-C', copyExample(), 'validate']);
    expect(result).toEqual({ code: 0, stdout: '', stderr: 'ok: 1 host(s), 3 pipeline(s), 1 branch(es), 10 recipe(s)\n' });
  });

  it('accepts the bundled Arch example (srcinfo) beside it', async () => {
    const dir = copyExample(['example', 'arch']);
    chmodSync(dir, 0o755); // as root, makepkg's build user must reach var/ below it
    const result = await runCli(['-C', dir, 'validate']);
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 0, stdout: '' });
    // Where makepkg (or, as root, its build user) is missing, the branch's only warning says so.
    const [warnings, last] = [result.stderr.split('\n').filter((l) => l.includes(': warning: ')), result.stderr.trimEnd().split('\n').at(-1)];
    expect(warnings.every((w) => w.startsWith('branches/arch.yaml:13:11: warning: branch arch: no host '))).toBe(true);
    expect(last).toBe(`ok: 1 host(s), 3 pipeline(s), 2 branch(es), 14 recipe(s)${warnings.length > 0 ? `, ${warnings.length} warning(s)` : ''}`);
  });
});
