// Loads the bundled CLI, dist/bundle/main.cjs (scripts/bundle-cli.mjs), through V8's code cache.
//
// Node 20 has no compile cache for modules (module.enableCompileCache is Node 22), but a
// vm.Script takes V8's cached data: the bytecode of every function a representative run compiled
// (dist/bundle/main.cjs.cache, made by `npm run build` from training runs of the CLI, see
// scripts/bundle-cli.mjs). With it, a command skips parsing and compiling the functions it runs;
// without it (no cache file, or V8 rejects it: another Node, other V8 flags), the bundle is
// compiled as usual and behaves the same, only slower to start.
//
// The cache is used only when it is newer than the bundle: the build writes it right after the
// bundle, so an edited or rebuilt bundle without a new cache is compiled from source. V8 itself
// checks its version, its flags and the source's length.
//
// CommonJS, as bin/buildfleet.js (bin/package.json): a CommonJS entry point starts about 6 ms
// sooner than an ES module one, which sets up Node's ES module loader first.
'use strict';
const { closeSync, fstatSync, openSync, readFileSync, statSync } = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const BUNDLE = path.join(__dirname, '..', 'dist', 'bundle', 'main.cjs');
const CODE_CACHE = `${BUNDLE}.cache`;

/**
 * The bundle's exports (`main`), its compiled script (for the build's training run, which writes
 * `script.createCachedData()`), and what became of the code cache: `used`, `rejected` by V8, or
 * `none` (no cache file, one older than the bundle, or `useCache: false`). Throws ENOENT when
 * there is no bundle.
 */
function loadBundle({ useCache = true } = {}) {
  const fd = openSync(BUNDLE, 'r');
  let source;
  let bundleMtime;
  try {
    bundleMtime = fstatSync(fd).mtimeMs;
    // The build makes the bundle ASCII (scripts/bundle-cli.mjs): read as Latin-1, it is the same text, with no UTF-8 decoding.
    source = readFileSync(fd, 'latin1');
  } finally {
    closeSync(fd);
  }
  let cachedData;
  if (useCache) {
    try {
      if (statSync(CODE_CACHE).mtimeMs >= bundleMtime) cachedData = readFileSync(CODE_CACHE);
    } catch {
      // no cache: compile from source
    }
  }
  // The CommonJS module wrapper, as Node's loader would add it.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: BUNDLE,
    ...(cachedData !== undefined ? { cachedData } : {}),
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, path.dirname(BUNDLE));
  return { exports: module.exports, script, cache: cachedData === undefined ? 'none' : script.cachedDataRejected === true ? 'rejected' : 'used' };
}

module.exports = { BUNDLE, CODE_CACHE, loadBundle };
