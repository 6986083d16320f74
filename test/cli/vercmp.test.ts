import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { corpus } from '../helpers/corpora.js';

describe('buildfleet vercmp', () => {
  it('prints -1, 0 or 1 for two operands, like pacman\'s vercmp', async () => {
    expect(await runCli(['vercmp', '1.0a', '1.0.a'])).toEqual({ code: 0, stdout: '-1\n', stderr: '' });
    expect(await runCli(['vercmp', '--scheme', 'alpm', '1:1.0', '2.0'])).toEqual({ code: 0, stdout: '1\n', stderr: '' });
    expect(await runCli(['vercmp', '1.5-1', '1.5'])).toEqual({ code: 0, stdout: '0\n', stderr: '' });
  });

  it('--scheme freebsd orders as pkg version -t: every pair of the FreeBSD corpora, through standard input', async () => {
    expect(await runCli(['vercmp', '--scheme', 'freebsd', '1.0_1', '1.0,1'])).toEqual({ code: 0, stdout: '-1\n', stderr: '' });
    const dir = corpus('vercmp');
    const rows = readdirSync(dir)
      .filter((f) => f.startsWith('vercmp-freebsd-') && f.endsWith('.tsv') && !f.includes('constraints'))
      .flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n').slice(1).filter((l) => l.trim() !== '' && !l.startsWith('#')))
      .map((l) => l.split('\t'));
    expect(rows.length).toBeGreaterThan(50);
    const result = await runCli(['vercmp', '--scheme', 'freebsd'], { stdin: rows.map(([a, b]) => `${a} ${b}`).join('\n') });
    expect(result.stderr).toBe('');
    const got = result.stdout.trimEnd().split('\n');
    const wrong = rows.filter(([, , expected], i) => got[i] !== expected);
    expect(wrong).toEqual([]);
  });

  it('reads "A B" pairs from standard input, one result per line', async () => {
    const result = await runCli(['vercmp'], { stdin: '1.0 1.1\n2.0\t2_0\n  1:1 2  \r\n1.5b 1.5' });
    expect(result).toEqual({ code: 0, stdout: '-1\n0\n1\n-1\n', stderr: '' });
  });

  it('refuses bad lines with their line numbers and prints no results', async () => {
    const result = await runCli(['vercmp'], { stdin: '1 2\n3\n\n4 5 6\n' });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toEqual([
      '<stdin>:2:1: error: expected two versions separated by whitespace, found 1 field(s)',
      '  hint: write one "A B" pair per line',
      '<stdin>:3:1: error: expected two versions separated by whitespace, found an empty line',
      '  hint: write one "A B" pair per line',
      '<stdin>:4:1: error: expected two versions separated by whitespace, found 3 field(s)',
      '  hint: write one "A B" pair per line',
      '',
    ]);
  });

  it('refuses one operand and an unknown scheme', async () => {
    const one = await runCli(['vercmp', '1.0']);
    expect(one.code).toBe(1);
    expect(one.stderr).toContain('vercmp: error: 1 version(s) given; vercmp compares two');
    const scheme = await runCli(['vercmp', '--scheme', 'dpkg', '1', '2']);
    expect(scheme.code).toBe(1);
    expect(scheme.stderr).toContain("argument 'dpkg' is invalid. Allowed choices are alpm, freebsd.");
  });
});
