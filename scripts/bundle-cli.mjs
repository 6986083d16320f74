#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js, after tsc) into dist/bundle/ with esbuild, then
// trains V8's code cache for it, so that a command loads one file and compiles little: Node's
// module resolution and loading was about 0.1 s of every `plan`, and compiling the functions a
// plan runs about 30 ms more (docs/BENCHMARKS.md, "Start-up"). bin/buildfleet.js runs the bundle
// through bin/load-bundle.js.
//
// - dist/bundle/main.cjs: the whole CLI as one CommonJS file. A command's modules (the
//   `await import('./commands/…')` of main.ts) stay lazy: esbuild evaluates a module when it is
//   first imported, so `--version` runs main and commander only. CommonJS, because Node 20 can
//   give V8's cached data only to a vm.Script, not to an ES module.
// - Only the libraries the config and plan path needs are bundled (BUNDLED below); the others
//   (ssh2 with its optional native addon, pino and its transports, execa, tar, simple-git,
//   chokidar) stay `require`s of node_modules/, loaded as before when a command needs them
//   (require() of the ES-module-only execa works from Node 20.19, the engines floor).
// - dist/bundle/main.cjs.cache: V8's code cache, written by scripts/train-code-cache.mjs in a child
//   process that runs representative commands (plans of every source and repository format) with
//   the bundle and saves the bytecode of every function they compiled. If training fails, the
//   build warns and leaves no cache: the CLI then compiles from source, only slower to start.
// - dist/bundle/recipeWorker.js: recipeTree starts its worker threads from
//   `new URL('./recipeWorker.js', import.meta.url)`, so the worker entry is bundled (as ES modules,
//   a chunk per format's parser) next to main.cjs. Every `new URL('<relative>', import.meta.url)` of the sources is
//   checked to point at an existing file or directory from dist/bundle/, or the build fails.
// - The unbundled modules stay in dist/ (tests and benchmarks import them;
//   BUILDFLEET_UNBUNDLED=1 makes bin/buildfleet.js run them). Without esbuild installed (a
//   node_modules/ from before it was a dev dependency) the build warns and leaves no bundle, and
//   bin/buildfleet.js runs those modules: slower to start, never stale.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const OUT_DIR = path.join(root, 'dist', 'bundle');

/** npm packages compiled into the bundle; every other bare import stays an import of node_modules/. */
const BUNDLED = new Set(['commander', 'yaml', 'js-yaml', 'picomatch', 'ajv', 'fast-deep-equal']);

function packageOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const onlyListedPackages = {
  name: 'only-listed-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (args.path.startsWith('node:') || !BUNDLED.has(packageOf(args.path))) return { path: args.path, external: true };
      return undefined;
    });
  },
};

/**
 * Node modules the CommonJS bundle loads when a command first uses them: each is replaced by a
 * module whose members are getters of the real module's (their names taken from the Node that
 * builds). Commander requires node:child_process at start-up (for subcommands run as programs,
 * which buildfleet has none of), with node:net and node:dgram behind it; node:fs/promises brings
 * node:readline's interface and the file watchers. Loading them was about 4 ms of every command,
 * `plan` included, that runs no process and writes no file.
 */
const LAZY_BUILTINS = ['child_process', 'fs/promises'];

const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(build) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.map((m) => m.replace('/', '\\/')).join('|')})$`);
    build.onResolve({ filter }, (args) => {
      const name = args.path.replace(/^node:/, '');
      return args.namespace === 'buildfleet-lazy' ? { path: `node:${name}`, external: true } : { path: name, namespace: 'buildfleet-lazy' };
    });
    build.onLoad({ filter: /.*/, namespace: 'buildfleet-lazy' }, async (args) => {
      const names = Object.keys(await import(`node:${args.path}`)).filter((n) => n !== 'default');
      const contents = `let real;\nfor (const name of ${JSON.stringify(names)}) {\n  Object.defineProperty(exports, name, { enumerable: true, get: () => (real ??= require(${JSON.stringify(`node:${args.path}`)}))[name] });\n}\n`;
      return { contents, loader: 'js' };
    });
  },
};

/** What the CommonJS bundle has for `import.meta.url` (esbuild's `define`): its own file's URL. */
const BUNDLE_URL = '__buildfleetBundleUrl';

/** Files the output locates relative to itself, `new URL('…', import.meta.url)`: they must exist. */
function checkRelativeUrls() {
  const missing = [];
  for (const name of readdirSync(OUT_DIR)) {
    if (!name.endsWith('.js') && !name.endsWith('.cjs')) continue;
    const text = readFileSync(path.join(OUT_DIR, name), 'utf8');
    for (const match of text.matchAll(new RegExp(`new URL\\(\\s*(["'])(\\.{1,2}/[^"']*)\\1\\s*,\\s*(?:import\\.meta\\.url|${BUNDLE_URL})\\s*\\)`, 'g'))) {
      const target = fileURLToPath(new URL(match[2], pathToFileURL(path.join(OUT_DIR, name))));
      if (!existsSync(target)) missing.push(`dist/bundle/${name}: new URL(${JSON.stringify(match[2])}, import.meta.url) -> ${path.relative(root, target)} does not exist`);
    }
  }
  return missing;
}

/**
 * Writes the characters above U+007F of `file` as `\\uXXXX`, so that the bundle is ASCII. esbuild
 * escapes them in strings, regular expressions and names, but not in the comments it keeps
 * (js-yaml's “quotes”, our own arrows): one above U+00FF makes V8 hold the whole 1.2 MB source as a
 * two-byte string, twice (the file, and the module wrapper around it), about 2.4 MB more of every
 * command's memory; and an ASCII file is read as Latin-1 by bin/load-bundle.js, with no UTF-8
 * decoding (about 2 ms of every command). Inside a comment the escape is as good as the character.
 */
function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  // Not U+2028 and U+2029: JavaScript reads those as line ends, so a comment cannot hold them.
  const escaped = text.replace(/[\u0080-\u2027\u202a-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (escaped !== text) writeFileSync(file, escaped);
}

/** Builds dist/bundle/ (without the code cache: {@link trainCodeCache}); false (and no bundle) when esbuild is not installed. */
export async function bundle() {
  rmSync(OUT_DIR, { recursive: true, force: true });
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    return false;
  }
  const common = { absWorkingDir: root, outdir: OUT_DIR, bundle: true, platform: 'node', target: 'node20', sourcemap: true, logLevel: 'warning', plugins: [onlyListedPackages] };
  await esbuild.build({
    ...common,
    entryPoints: { main: 'dist/cli/main.js' },
    format: 'cjs',
    plugins: [lazyBuiltins, onlyListedPackages],
    // `import('tar')` of a library left in node_modules/ becomes a require(): the vm.Script of
    // bin/load-bundle.js then needs no module loader of its own.
    supported: { 'dynamic-import': false },
    outExtension: { '.js': '.cjs' },
    define: { 'import.meta.url': BUNDLE_URL },
    // "use strict" first: the modules are ES modules, strict; esbuild's own directive comes after
    // the banner, where it is no directive.
    banner: { js: `'use strict';\nvar ${BUNDLE_URL} = require('node:url').pathToFileURL(__filename).href;` },
  });
  asciiOnly(path.join(OUT_DIR, 'main.cjs'));
  await esbuild.build({
    ...common,
    entryPoints: { recipeWorker: 'dist/sources/recipeWorker.js' },
    format: 'esm',
    // Each format's parser a chunk of its own, imported when the worker's tree needs it: a worker
    // reading .SRCINFO files never loads YAML and the recipe schema.
    splitting: true,
    // The bundled CommonJS libraries `require` Node's modules (yaml: process, buffer).
    banner: { js: "import { createRequire as __buildfleetCreateRequire } from 'node:module';\nconst require = __buildfleetCreateRequire(import.meta.url);" },
  });
  const missing = checkRelativeUrls();
  if (missing.length > 0) throw new Error(`the bundle locates files that are not there:\n  ${missing.join('\n  ')}`);
  return true;
}

/**
 * Writes dist/bundle/main.cjs.cache by running scripts/train-code-cache.mjs in a child process
 * (Node's own flags, as the CLI runs). Returns why it could not, or undefined.
 */
export function trainCodeCache() {
  const child = spawnSync(process.execPath, [path.join(root, 'scripts', 'train-code-cache.mjs')], { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NODE_OPTIONS: '' } });
  if (child.status === 0) return undefined;
  return `${child.error?.message ?? `exit ${child.status ?? child.signal}`}${child.stderr ? `: ${child.stderr.trim().split('\n').slice(-5).join(' | ')}` : ''}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    if (!(await bundle())) {
      console.warn('scripts/bundle-cli.mjs: warning: esbuild is not installed: the CLI is not bundled and starts about 0.1 s slower\n  hint: run `npm ci` (esbuild is a dev dependency)');
    } else {
      const failed = trainCodeCache();
      if (failed !== undefined) console.warn(`scripts/bundle-cli.mjs: warning: no code cache for the bundle (training failed: ${failed}); the CLI compiles at start-up, about 30 ms slower\n  hint: run \`node scripts/train-code-cache.mjs\` to see why`);
    }
  } catch (error) {
    console.error(`scripts/bundle-cli.mjs: error: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
