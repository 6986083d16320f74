/**
 * pipelines/freebsd-port.yaml cannot run here (it needs FreeBSD's make, pkg and
 * chroot): its real step runs with test doubles of `make`, `chroot` and `pkg`
 * first on PATH, which record their argv and environment and write the package
 * `make package` would. Checked: the exact command lines and environment, with
 * and without a prerequisite root, and the package reaching the repository.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { REPO_ROOT, runCli } from '../helpers/cli.js';
import { testdir } from '../helpers/testdir.js';

/** A recorder: appends "<name> <argv as JSON> <selected env as JSON>" to `log`, then does `then`. */
function fake(name: string, log: string, then: string): { mode: number; content: string } {
  return {
    mode: 0o755,
    content: `#!/bin/sh\nnode -e 'const e={};for(const k of ["PACKAGES","WRKDIRPREFIX","BATCH","PATH","HOME","DEPS","ORIGIN","BUILDFLEET_ROOT"])if(process.env[k]!==undefined)e[k]=process.env[k];require("fs").appendFileSync(process.argv[1], JSON.stringify({cmd:process.argv[2],argv:process.argv.slice(3),env:e})+"\\n")' '${log}' ${name} "$@"\n${then}\n`,
  };
}

function line(pkgname: string, origin: string, run = ''): string {
  return [pkgname, `/usr/ports/${origin}`, '/usr/local', 'a port', `/usr/ports/${origin}/pkg-descr`, 'ports@FreeBSD.org', origin.split('/')[0], '', run, '', '', '', ''].join('|');
}

interface Call {
  cmd: string;
  argv: string[];
  env: Record<string, string>;
}
const calls = (log: string): Call[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Call) : []);

describe('pipelines/freebsd-port.yaml', () => {
  it('without a root: make -C /usr/ports/<origin> package with PACKAGES in the workspace; the package is published', async () => {
    const dir = testdir({
      'hosts.yaml': 'hosts:\n  - { name: local, transport: local, power: 1 }\n',
      'branches/ports.yaml': 'source: { path: ports, format: freebsd-index }\npipeline: freebsd-port\nrepos:\n  - { name: main, path: repos/main, format: plain }\n',
      'ports/INDEX': [line('liba-1.0_1', 'devel/liba'), line('app-2.0,1', 'misc/app', 'liba-1.0_1'), ''].join('\n'),
      'ports/devel/liba/Makefile': 'PORTNAME=liba\n',
      'ports/misc/app/Makefile': 'PORTNAME=app\n',
    });
    mkdirSync(path.join(dir, 'pipelines'));
    copyFileSync(path.join(REPO_ROOT, 'pipelines', 'freebsd-port.yaml'), path.join(dir, 'pipelines', 'freebsd-port.yaml'));
    const log = path.join(dir, 'calls.jsonl');
    const bin = testdir({
      // make package: <pkgname>.pkg into ${PACKAGES}/All (the version comes from the environment the step has).
      make: fake('make', log, 'mkdir -p "$PACKAGES/All" && echo "package of $BUILDFLEET_PACKAGE" > "$PACKAGES/All/${BUILDFLEET_PACKAGE##*/}-$BUILDFLEET_VERSION.pkg"'),
      pkg: fake('pkg', log, 'exit 0'),
      chroot: fake('chroot', log, 'exit 99'),
    });
    const run = await runCli(['-C', dir, 'reconcile', '--format', 'json'], { env: { PATH: `${bin}:${process.env.PATH ?? ''}` } });
    expect(run.stderr).not.toContain('error');
    expect(run.code).toBe(0);
    const made = calls(log);
    expect(made.map((c) => [c.cmd, ...c.argv])).toEqual([
      ['make', '-C', '/usr/ports/devel/liba', 'package'],
      ['make', '-C', '/usr/ports/misc/app', 'package'],
    ]);
    for (const c of made) {
      expect(c.env.BATCH).toBe('yes');
      expect(c.env.PACKAGES).toMatch(new RegExp(`^${dir}/var/ports/work/(devel_liba|misc_app)-[^/]+/build/packages$`));
      expect(c.env.WRKDIRPREFIX).toMatch(new RegExp(`^${dir}/var/ports/work/(devel_liba|misc_app)-[^/]+/tmp/work$`));
    }
    const index = JSON.parse(readFileSync(path.join(dir, 'repos/main/index.json'), 'utf8')) as { packages: { name: string; file: string }[] };
    expect(index.packages.map((p) => p.file)).toEqual(['app-2.0,1.pkg', 'liba-1.0_1.pkg']);
    expect(readFileSync(path.join(dir, 'repos/main/app-2.0,1.pkg'), 'utf8')).toBe('package of misc/app\n');
  });

  it('with a root: pkg add of the dependencies and make package inside chroot, an empty environment, packages moved out', () => {
    const dir = testdir({});
    const { config, diagnostics } = loadConfig(REPO_ROOT);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const step = config!.pipelines.get('freebsd-port')!.steps[0]!;
    const root = path.join(dir, 'root');
    const ws = path.join(dir, 'ws');
    for (const d of [path.join(root, 'tmp'), path.join(ws, 'build'), path.join(ws, 'deps'), path.join(ws, 'out'), path.join(ws, 'tmp')]) mkdirSync(d, { recursive: true });
    execFileSync('sh', ['-c', 'echo dep > "$1/deps/liba-1.0_1.pkg"', 'sh', ws]);
    const log = path.join(dir, 'calls.jsonl');
    const bin = testdir({
      // chroot ROOT cmd…: what make package would leave in ${PACKAGES}/All inside the root.
      chroot: fake('chroot', log, 'root=$1; for a in "$@"; do case $a in PACKAGES=*) p=${a#PACKAGES=};; esac; done; mkdir -p "$root$p/All" && echo built > "$root$p/All/app-2.0,1.pkg"'),
      make: fake('make', log, 'exit 98'),
    });
    execFileSync('sh', ['-c', step.run], {
      cwd: path.join(ws, 'build'),
      env: {
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        TMPDIR: path.join(ws, 'tmp'),
        BUILDFLEET_BRANCH: 'ports',
        BUILDFLEET_PACKAGE: 'misc/app',
        BUILDFLEET_VERSION: '2.0,1',
        BUILDFLEET_OUT: path.join(ws, 'out'),
        BUILDFLEET_DEPS: path.join(ws, 'deps'),
        BUILDFLEET_ROOT: root,
      },
    });
    const [c, ...rest] = calls(log);
    expect(rest).toEqual([]);
    const stage = c!.argv.find((a) => a.startsWith('PACKAGES='))!.slice('PACKAGES='.length).replace(/\/packages$/, '');
    expect(stage).toMatch(/^\/tmp\/buildfleet\.[A-Za-z0-9]+$/);
    expect(c!.argv).toEqual([
      root,
      '/usr/bin/env',
      '-i',
      'PATH=/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin',
      'HOME=/root',
      'BATCH=yes',
      `PACKAGES=${stage}/packages`,
      `WRKDIRPREFIX=${stage}/work`,
      `DEPS=${stage}/deps`,
      'ORIGIN=misc/app',
      '/bin/sh',
      '-c',
      'set -eu; for f in "$DEPS"/*; do [ -f "$f" ] && pkg add "$f"; done; exec make -C "/usr/ports/$ORIGIN" package',
    ]);
    expect(readFileSync(path.join(ws, 'build', 'packages', 'All', 'app-2.0,1.pkg'), 'utf8')).toBe('built\n');
    // The staging directory in the root is gone; the dependency was copied into it for pkg add.
    expect(execFileSync('ls', ['-A', path.join(root, 'tmp')], { encoding: 'utf8' })).toBe('');
  });
});
