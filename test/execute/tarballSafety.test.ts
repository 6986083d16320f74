/** The local safety check of prerequisite tarballs: hostile entries are refused, naming the entry. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTarballs, detectCompression } from '../../src/execute/tarballSafety.js';
import { baseSystem, rawTar, type RawEntry } from '../helpers/tarballs.js';
import { testdir } from '../helpers/testdir.js';

function write(dir: string, name: string, entries: readonly RawEntry[], gzip = true): string {
  const file = path.join(dir, name);
  writeFileSync(file, rawTar(entries, { gzip }));
  return file;
}

describe('checkTarballs', () => {
  it('accepts a base system, absolute symlink targets read relative to the root included', async () => {
    const dir = testdir({});
    expect(await checkTarballs([write(dir, 'base.tar.gz', baseSystem('r1'))])).toBeNull();
    expect(await checkTarballs([write(dir, 'base.tar', baseSystem('r1'), false)])).toBeNull();
  });

  it.each([
    { name: 'absolute path', entries: [{ path: '/etc/passwd', content: 'x' }], entry: '/etc/passwd', message: /absolute path/ },
    { name: '".." component', entries: [{ path: './usr/../../etc/passwd', content: 'x' }], entry: './usr/../../etc/passwd', message: /"\.\." component/ },
    {
      name: 'relative symlink out of the root',
      entries: [{ path: 'usr/', type: 'Directory' as const }, { path: 'usr/escape', type: 'SymbolicLink' as const, linkpath: '../../etc' }],
      entry: 'usr/escape',
      message: /points to "\.\.\/\.\.\/etc", outside the root/,
    },
    { name: 'absolute symlink climbing above the root', entries: [{ path: 'up', type: 'SymbolicLink' as const, linkpath: '/../../etc' }], entry: 'up', message: /outside the root/ },
    { name: 'hard link out (relative)', entries: [{ path: 'passwd', type: 'Link' as const, linkpath: '../etc/passwd' }], entry: 'passwd', message: /hard link "passwd" points to "\.\.\/etc\/passwd"/ },
    { name: 'hard link out (absolute)', entries: [{ path: 'shadow', type: 'Link' as const, linkpath: '/etc/shadow' }], entry: 'shadow', message: /hard link "shadow" points to "\/etc\/shadow"/ },
    {
      name: 'a file written through a symlink of the archive',
      entries: [{ path: 'etc', type: 'SymbolicLink' as const, linkpath: '/etc' }, { path: 'etc/cron.d/evil', content: 'x' }],
      entry: 'etc/cron.d/evil',
      message: /lies under "etc", which the archive made a symbolic link/,
    },
    {
      name: 'a hard link through a symlink of the archive',
      entries: [{ path: 'e', type: 'SymbolicLink' as const, linkpath: '/etc' }, { path: 'p', type: 'Link' as const, linkpath: 'e/passwd' }],
      entry: 'p',
      message: /hard link "p" points to "e\/passwd"/,
    },
    { name: 'device file', entries: [{ path: 'dev/', type: 'Directory' as const }, { path: 'dev/sda', type: 'BlockDevice' as const }], entry: 'dev/sda', message: /device file/ },
  ])('refuses $name', async ({ entries, entry, message }) => {
    const dir = testdir({});
    const refusal = await checkTarballs([write(dir, 'bad.tar.gz', entries)]);
    expect(refusal).not.toBeNull();
    expect(refusal!.entry).toBe(entry);
    expect(refusal!.index).toBe(0);
    expect(refusal!.message).toMatch(message);
    expect(refusal!.hint).not.toBe('');
  });

  it('a symlink made by an earlier tarball of the same root counts for the later ones', async () => {
    const dir = testdir({});
    const first = write(dir, 'a.tar.gz', [{ path: 'opt', type: 'SymbolicLink', linkpath: '/usr/local' }]);
    const second = write(dir, 'b.tar.gz', [{ path: 'opt/bin/tool', content: 'x' }]);
    expect(await checkTarballs([second])).toBeNull();
    const refusal = await checkTarballs([first, second]);
    expect(refusal).toMatchObject({ index: 1, entry: 'opt/bin/tool' });
  });

  it('a directory entry replacing the symlink makes later entries below it fine', async () => {
    const dir = testdir({});
    const file = write(dir, 'a.tar.gz', [{ path: 'opt', type: 'SymbolicLink', linkpath: '/usr/local' }, { path: 'opt/', type: 'Directory' }, { path: 'opt/tool', content: 'x' }]);
    expect(await checkTarballs([file])).toBeNull();
  });

  it('refuses an archive that unpacks to more than its limit, at the entry that passes it, counting 512 bytes per entry', async () => {
    const dir = testdir({});
    const file = write(dir, 'big.tar.gz', [{ path: 'a', content: 'x'.repeat(1000) }, { path: 'b', content: 'y'.repeat(1000) }, { path: 'c' }]);
    expect(await checkTarballs([file])).toBeNull();
    expect(await checkTarballs([file], { maxUnpackedBytes: [3 * 512 + 2000] })).toBeNull();
    expect(await checkTarballs([file], { maxUnpackedBytes: [3 * 512 + 1999] })).toMatchObject({ index: 0, entry: 'c', message: expect.stringMatching(/unpacks to more than 3535 \(maxUnpackedSize\)/) as unknown });
    expect(await checkTarballs([file], { maxUnpackedBytes: [2000] })).toMatchObject({ entry: 'b' });
  });

  it('reads xz tarballs through xz, and refuses what is not a tar archive', async () => {
    const dir = testdir({});
    const plain = write(dir, 'bad.tar', [{ path: '../x', content: 'x' }], false);
    execFileSync('xz', ['-k', plain]);
    expect(await detectCompression(`${plain}.xz`)).toBe('xz');
    expect(await checkTarballs([`${plain}.xz`])).toMatchObject({ entry: '../x' });
    writeFileSync(path.join(dir, 'junk.tar.gz'), 'this is not a tarball at all, just text that goes on for a while'.repeat(20));
    const junk = await checkTarballs([path.join(dir, 'junk.tar.gz')]);
    expect(junk).not.toBeNull();
    expect(junk!.entry).toBeUndefined();
  });
});
