#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js, after tsc) into dist/bundle/ with esbuild, so
// that a command loads a few files instead of ~70 modules of ours and ~130 CommonJS files of
// its libraries: Node's module resolution and loading was about 0.1 s of every `plan`
// (docs/BENCHMARKS.md, "Start-up"). bin/buildfleet.js runs the bundle.
//
// - Each command stays its own chunk (the `await import('./commands/…')` of main.ts), code
//   shared between commands goes into chunks of its own: `--version` loads main and commander only.
// - Only the libraries the config and plan path needs are bundled (BUNDLED below); the others
//   (ssh2 with its optional native addon, pino and its transports, execa, tar, simple-git,
//   chokidar) stay imports of node_modules/, loaded as before when a command needs them.
// - dist/sources/recipeWorker.js is a second entry point: recipeTree starts its worker threads
//   from `new URL('./recipeWorker.js', import.meta.url)`, which in the bundle is
//   dist/bundle/recipeWorker.js. Every `new URL('<relative>', import.meta.url)` of the output is
//   checked to point at an existing file or directory, or the build fails.
// - The unbundled modules stay in dist/ (tests and benchmarks import them;
//   BUILDFLEET_UNBUNDLED=1 makes bin/buildfleet.js run them). Without esbuild installed (a
//   node_modules/ from before it was a dev dependency) the build warns and leaves no bundle, and
//   bin/buildfleet.js runs those modules: slower to start, never stale.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

/** Files the output locates relative to itself, `new URL('…', import.meta.url)`: they must exist. */
function checkRelativeUrls() {
  const missing = [];
  for (const name of readdirSync(OUT_DIR)) {
    if (!name.endsWith('.js')) continue;
    const text = readFileSync(path.join(OUT_DIR, name), 'utf8');
    for (const match of text.matchAll(/new URL\(\s*(["'])(\.{1,2}\/[^"']*)\1\s*,\s*import\.meta\.url\s*\)/g)) {
      const target = fileURLToPath(new URL(match[2], pathToFileURL(path.join(OUT_DIR, name))));
      if (!existsSync(target)) missing.push(`dist/bundle/${name}: new URL(${JSON.stringify(match[2])}, import.meta.url) -> ${path.relative(root, target)} does not exist`);
    }
  }
  return missing;
}

/** Builds dist/bundle/; false (and no bundle) when esbuild is not installed. */
export async function bundle() {
  rmSync(OUT_DIR, { recursive: true, force: true });
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    return false;
  }
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: { main: 'dist/cli/main.js', recipeWorker: 'dist/sources/recipeWorker.js' },
    outdir: OUT_DIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
    // The bundled CommonJS libraries `require` Node's modules (yaml: process, buffer).
    banner: { js: "import { createRequire as __buildfleetCreateRequire } from 'node:module';\nconst require = __buildfleetCreateRequire(import.meta.url);" },
    plugins: [onlyListedPackages],
  });
  const missing = checkRelativeUrls();
  if (missing.length > 0) throw new Error(`the bundle locates files that are not there:\n  ${missing.join('\n  ')}`);
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    if (!(await bundle())) {
      console.warn('scripts/bundle-cli.mjs: warning: esbuild is not installed: the CLI is not bundled and starts about 0.1 s slower\n  hint: run `npm ci` (esbuild is a dev dependency)');
    }
  } catch (error) {
    console.error(`scripts/bundle-cli.mjs: error: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
