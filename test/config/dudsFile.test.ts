import { describe, expect, it } from 'vitest';
import { parseDudsFile } from '../../src/config/dudsFile.js';

describe('parseDudsFile', () => {
  it('reads one entry per line, comments as reasons, blank lines and comment lines skipped', () => {
    const text = '# duds for 3.0\n\nx11/motif   # needs the Motif licence\nxdemo\n  devel/gmake\r\nxdemo\n';
    expect(parseDudsFile(text, 'duds')).toEqual({
      entries: [
        { package: 'x11/motif', reason: 'needs the Motif licence', line: 3, col: 1 },
        { package: 'xdemo', line: 4, col: 1 },
        { package: 'devel/gmake', line: 5, col: 3 },
      ],
      diagnostics: [],
    });
  });

  it('locates bad lines', () => {
    const { entries, diagnostics } = parseDudsFile('ok\nfoo bar\n../etc/passwd\n-x # y\n', 'var/duds');
    expect(entries.map((e) => e.package)).toEqual(['ok']);
    expect(diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`)).toEqual([
      'var/duds:2:5: one dud per line: "bar" follows "foo"',
      'var/duds:3:1: "../etc/passwd" is not a package name or origin',
      'var/duds:4:1: "-x" is not a package name or origin',
    ]);
  });
});
