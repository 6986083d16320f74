#!/usr/bin/env node
// Trains V8's code cache of the bundled CLI (dist/bundle/main.cjs.cache, read by
// bin/load-bundle.js): loads the bundle from source, runs representative commands in this process
// with their output discarded, then saves the bytecode of every function they compiled. Run by
// scripts/bundle-cli.mjs (`npm run build`) in a child process with Node's default flags, since V8
// refuses a cache made under other flags.
//
// The commands read and write nothing of the repository: `--help`, `--version`, `validate` and
// `plan` (text, json, markdown) of the repository's own config (the bundled examples: native
// recipes, .SRCINFO, plain repos), and `plan` of a small config made here in a temporary directory
// that has what the examples lack before their first reconcile: a FreeBSD INDEX branch and a
// pacman repository with a database. A function none of them runs is compiled when first called,
// as without a cache.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { create as createTar } from 'tar';
import { CODE_CACHE, loadBundle } from '../bin/load-bundle.js';
import { formatDesc, parsePkgInfo } from '../dist/publish/pacmanPackage.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** A config with a FreeBSD INDEX branch and an Arch branch whose pacman repository holds one of its two packages. */
function makeTrainingConfig(dir) {
  const write = (rel, text) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  write('hosts.yaml', 'hosts:\n  - name: local\n    transport: local\n    power: 2\n');
  write('pipelines/shell.yaml', 'steps:\n  - name: build\n    run: "true"\n');
  write('branches/ports.yaml', 'source:\n  path: ports\n  format: freebsd-index\n  index: INDEX\npipeline: shell\nrepos:\n  - name: main\n    path: repos/ports\n    format: plain\n');
  const port = (name, version, origin, deps) => `${name}-${version}|/usr/ports/${origin}|/usr/local|${name} port|/usr/ports/${origin}/pkg-descr|ports@example.org|${origin.split('/')[0]}|${deps}|${deps}|https://example.org/|||\n`;
  write('ports/INDEX', port('libfoo', '1.2_1', 'devel/libfoo', '') + port('foo', '2.0,1', 'misc/foo', 'libfoo-1.2_1'));
  write('ports/devel/libfoo/Makefile', 'PORTNAME=libfoo\n');
  write('ports/misc/foo/Makefile', 'PORTNAME=foo\n');
  write('branches/arch.yaml', 'source:\n  path: pkgs\n  format: srcinfo\narchitecture: x86_64\npipeline: shell\nrepos:\n  - name: repo\n    path: repos/arch\n    format: pacman\n    prune: true\n');
  write('pkgs/liba/.SRCINFO', 'pkgbase = liba\n\tpkgdesc = A library\n\tpkgver = 1.0\n\tpkgrel = 1\n\tarch = x86_64\n\tprovides = libliba.so=1-64\n\npkgname = liba\n');
  write('pkgs/app/.SRCINFO', 'pkgbase = app\n\tpkgdesc = An app\n\tpkgver = 2.1\n\tpkgrel = 3\n\tepoch = 1\n\tarch = any\n\tmakedepends = liba>=1.0\n\tdepends = libliba.so\n\npkgname = app\n\npkgname = app-doc\n\tdepends = app\n');
  write('pkgs/app/PKGBUILD', 'pkgname=(app app-doc)\n');
  // The database entry as the product's pacman writer makes it (repo-add's `desc`), from the package's .PKGINFO.
  const pkginfo = parsePkgInfo('pkgname = liba\npkgbase = liba\npkgver = 1.0-1\npkgdesc = A library\narch = x86_64\nprovides = libliba.so=1-64\n');
  write('db/liba-1.0-1/desc', formatDesc(pkginfo, { filename: 'liba-1.0-1-x86_64.pkg.tar.zst', size: 0, md5: '', sha256: '' }));
  mkdirSync(path.join(dir, 'repos/arch'), { recursive: true });
  createTar({ gzip: true, sync: true, portable: true, file: path.join(dir, 'repos/arch/repo.db.tar.gz'), cwd: path.join(dir, 'db') }, ['liba-1.0-1']);
  writeFileSync(path.join(dir, 'repos/arch/liba-1.0-1-x86_64.pkg.tar.zst'), '');
}

const { exports, script } = loadBundle({ useCache: false });
const silent = { stdout: () => undefined, stderr: () => undefined };
const scratch = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-train-'));
try {
  makeTrainingConfig(scratch);
  const runs = [
    ['--version'],
    ['--help'],
    ['plan', '--help'],
    ...[root, scratch].flatMap((dir) => [
      ['-C', dir, 'validate'],
      ['-C', dir, 'plan', '--format', 'json'],
      ['-C', dir, 'plan'],
      ['-C', dir, 'plan', '--format', 'markdown'],
    ]),
  ];
  for (const args of runs) {
    // Exit codes do not matter (a plan with changes is 0, a config problem 1): the code that ran is what is kept.
    await exports.main([process.execPath, 'buildfleet', ...args], silent);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
const temporary = `${CODE_CACHE}.${process.pid}.tmp`;
writeFileSync(temporary, script.createCachedData());
renameSync(temporary, CODE_CACHE);
