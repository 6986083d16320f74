/** `buildfleet import duds`: a portbuild duds file to a branch's `duds:` entries. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { testdir } from '../helpers/testdir.js';

const DUDS = '# duds for 3.0\nx11/motif   # needs the Motif licence\n\n  devel/foo\nx11/motif\n';

describe('buildfleet import duds', () => {
  it('prints duds: entries (a trailing comment is the reason; an entry listed twice once)', async () => {
    const dir = testdir({ 'duds.i386': DUDS });
    const r = await runCli(['import', 'duds', path.join(dir, 'duds.i386'), '--branch', 'example-3.0'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        '# duds: entries for branches/example-3.0.yaml imported from duds.i386 by buildfleet import duds',
        '',
        'duds:',
        '  - package: x11/motif',
        '    reason: needs the Motif licence',
        '  - package: devel/foo',
        '    reason: listed in duds.i386',
        '',
      ].join('\n'),
    );
  });

  it('reports every bad line, located, and prints nothing', async () => {
    const dir = testdir({ duds: 'x11/motif\ntwo words # here\n  -bad\n\n# only comments\n' });
    const r = await runCli(['import', 'duds', 'duds', '--branch', 'example'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [
        'duds:2:5: error: one dud per line: "words" follows "two"',
        '  hint: put each package on a line of its own; write a reason as a # comment after it',
        'duds:3:3: error: "-bad" is not a package name or origin',
        '  hint: write a package name (letters, digits and @._+-) or a FreeBSD origin category/port',
        '',
      ].join('\n'),
    );
    const empty = testdir({ duds: '# nothing yet\n\n' });
    const none = await runCli(['import', 'duds', 'duds', '--branch', 'example'], { cwd: empty });
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toBe('duds: error: the duds file lists no package\n  hint: add one package name or origin category/port per line\n');
  });

  it('--merge adds the duds to the branch file keeping its comments, once, and refuses a branch with no file', async () => {
    const branch = '# branch 3.0\nsource:\n  path: ports\n  format: freebsd-index\npipeline: freebsd-port\nrepos:\n  - name: main\n    path: var/repo\n    format: plain\nduds:\n  # kept on purpose\n  - package: x11/motif\n    reason: licence\n';
    const dir = testdir({ duds: DUDS, 'branches/b30.yaml': branch });
    const r = await runCli(['-C', dir, 'import', 'duds', 'duds', '--branch', 'b30', '--merge'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('added 1 dud(s) to branches/b30.yaml; 1 already listed there, left as they are\n');
    const merged = readFileSync(path.join(dir, 'branches', 'b30.yaml'), 'utf8');
    expect(merged).toBe(`${branch}  - package: devel/foo\n    reason: listed in duds\n`);
    const again = await runCli(['-C', dir, 'import', 'duds', 'duds', '--branch', 'b30', '--merge'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'branches', 'b30.yaml'), 'utf8')).toBe(merged);
    const missing = await runCli(['-C', dir, 'import', 'duds', 'duds', '--branch', 'nope', '--merge'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('branches/nope.yaml: error: branch "nope" has no file\n  hint: pass the name of an existing branch (a file in branches/), or print the entries without --merge\n');
  });
});
