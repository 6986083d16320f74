/**
 * Temporary directories built from an object of files (changesets' `testdir`),
 * and a small valid config that tests override file by file.
 */
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

/** A file's content, or its content and mode (e.g. 0o755 for a build script). */
export type FileSpec = string | { readonly mode?: number; readonly content: string };

export type Files = Record<string, FileSpec>;

/** Writes `files` (paths relative to `root`, parents created) into `root`. */
export function writeFiles(root: string, files: Files): void {
  for (const [rel, spec] of Object.entries(files)) {
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    const content = typeof spec === 'string' ? spec : spec.content;
    writeFileSync(abs, content);
    if (typeof spec !== 'string' && spec.mode !== undefined) chmodSync(abs, spec.mode);
  }
}

/** A new directory under os.tmpdir() holding `files`; the caller removes it (see {@link removeTree}). */
export function makeTree(files: Files): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-test-'));
  writeFiles(root, files);
  return root;
}

export function removeTree(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

/** A temporary directory holding `files`, removed when the current test finishes. Call it inside a test. */
export function testdir(files: Files): string {
  const root = makeTree(files);
  onTestFinished(() => removeTree(root));
  return root;
}

/** Fields of a native recipe.yaml. */
export interface RecipeFields {
  readonly version?: string;
  readonly release?: string;
  readonly depends?: readonly string[];
  readonly buildDepends?: readonly string[];
  readonly provides?: readonly string[];
}

/** The text of a recipe.yaml; the version is quoted so that it stays a string. */
export function recipeYaml(name: string, fields: RecipeFields = {}): string {
  const list = (items: readonly string[] | undefined): string => `[${(items ?? []).join(', ')}]`;
  return [
    `name: ${name}`,
    `version: "${fields.version ?? '1.0'}"`,
    ...(fields.release !== undefined ? [`release: "${fields.release}"`] : []),
    `depends: ${list(fields.depends)}`,
    `buildDepends: ${list(fields.buildDepends)}`,
    `provides: ${list(fields.provides)}`,
    '',
  ].join('\n');
}

/** A recipe directory: recipe.yaml and an executable build.sh. */
export function recipeFiles(name: string, fields: RecipeFields = {}, root = 'recipes'): Files {
  return {
    [`${root}/${name}/recipe.yaml`]: recipeYaml(name, fields),
    [`${root}/${name}/build.sh`]: { mode: 0o755, content: `#!/bin/sh\necho building ${name}\n` },
  };
}

export const BASE_HOSTS = `hosts:
  - name: local
    transport: local
    power: 2
    labels: [linux, x86_64]
`;

export const BASE_PIPELINE = `steps:
  - name: build
    run: ./build.sh
    timeout: 10m
`;

export const BASE_BRANCH = `source:
  path: recipes
  format: recipe
pipeline: shell
hosts: { labels: [x86_64] }
rebuild: transitive
repos:
  - name: main
    path: repos/main
    format: plain
    prune: true
`;

/**
 * A small valid config: one local host, pipelines/shell.yaml, branches/main.yaml
 * over recipes/ with libc <- zlib <- app (zlib also provides libz.so). Repo `main`
 * at repos/main, pruned. A fresh object each call.
 */
export function baseConfig(): Files {
  return {
    'hosts.yaml': BASE_HOSTS,
    'pipelines/shell.yaml': BASE_PIPELINE,
    'branches/main.yaml': BASE_BRANCH,
    ...recipeFiles('libc', { version: '2.40' }),
    ...recipeFiles('zlib', { version: '1.3.1', depends: ['libc'], provides: ['libz.so'] }),
    ...recipeFiles('app', { version: '1.0', depends: ['zlib'] }),
  };
}

/** `files` without the given paths. */
export function without(files: Files, ...paths: string[]): Files {
  const copy = { ...files };
  for (const p of paths) delete copy[p];
  return copy;
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The parts of this repository that make up the bundled example config. */
export const EXAMPLE_PARTS = ['hosts.yaml', 'branches', 'pipelines', 'example', 'scripts'] as const;

/**
 * A copy of the bundled example config (hosts.yaml, branches/, pipelines/,
 * example/, scripts/) in a temporary directory removed after the test, so that
 * its repo (var/repos/example) and state (var/) are the test's own. Only the
 * branch files named in `branches` are copied (default: the `example` branch, so
 * that tests of one branch do not change when the example gains another).
 */
export function copyExample(branches: readonly string[] = ['example']): string {
  const root = testdir({});
  for (const part of EXAMPLE_PARTS) {
    cpSync(path.join(REPO_ROOT, part), path.join(root, part), {
      recursive: true,
      filter: (src) => part !== 'branches' || !src.endsWith('.yaml') || branches.includes(path.basename(src, '.yaml')),
    });
  }
  return root;
}

/**
 * Everything about a directory tree a write would change: per entry (files,
 * directories, links) its type, mode, size, mtime and, for files, the sha256
 * of the content. Equal snapshots = nothing was created, removed or written.
 */
export function snapshotTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const abs = rel === '' ? root : path.join(root, rel);
    const st = lstatSync(abs);
    const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other';
    const content = st.isFile() ? createHash('sha256').update(readFileSync(abs)).digest('hex') : st.isSymbolicLink() ? readlinkSync(abs) : '';
    out[rel === '' ? '.' : rel] = `${type} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${content}`;
    if (st.isDirectory()) for (const name of readdirSync(abs).sort()) walk(rel === '' ? name : `${rel}/${name}`);
  };
  walk('');
  return out;
}
